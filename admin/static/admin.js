// The staff site's only script of its own. When htmx swaps in the answer to a form and the
// control that had the focus went with the old content, the focus goes to the answer (its
// status or alert message, else the new component) instead of falling off the page, so a
// keyboard or screen-reader user hears the answer and carries on from there.
document.addEventListener("htmx:afterSettle", function (evt) {
  var config = evt.detail.requestConfig;
  if (!config || config.verb === "get") return;  // polls and links: never move the focus
  var active = document.activeElement;
  if (active && active !== document.body && active.isConnected) return;
  var swapped = evt.detail.elt.isConnected ? evt.detail.elt : document.getElementById(evt.detail.elt.id);
  if (!swapped) return;
  var answer = swapped.querySelector("[role=alert], [role=status]") || swapped;
  if (!answer.hasAttribute("tabindex")) answer.setAttribute("tabindex", "-1");
  answer.focus();
});
