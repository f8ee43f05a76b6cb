"""Accessibility checks for the browser tests: axe-core over the WCAG 2.1 A and AA rules,
and keyboard-only helpers (Tab to an element, focus visible, reading order)."""
import json

import pytest

from tests.support.live import ARTIFACTS, ROOT

AXE = ROOT / "tests" / "vendor" / "axe.min.js"   # copied from node_modules by `make setup`
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN_AXE = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => ({
  passes: r.passes.length, incomplete: r.incomplete.map(v => ({id: v.id, targets: v.nodes.map(n => n.target.join(' '))})),
  violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({
    target: n.target.join(' '), html: n.html.slice(0, 160), summary: n.failureSummary}))}))}))"""


def axe_results(page):
    """axe-core's WCAG 2.1 A/AA results for the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        if not AXE.exists():
            pytest.fail(f"{AXE.relative_to(ROOT)} missing: `make setup` copies it from node_modules/axe-core")
        # Evaluated over the DevTools protocol, so the page's Content-Security-Policy does not
        # apply and nothing is served by the apps themselves.
        page.evaluate(AXE.read_text())
    return page.evaluate(RUN_AXE, WCAG_21_AA)


def describe(violations):
    """One line per failing element: rule, impact, element, what is wrong."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"  [{v['id']}] ({v['impact']}) {v['help']}\n    element: {node['target']}  {node['html']}"
                         f"\n    {summary}")
    return "\n".join(lines)


def assert_accessible(page, screen):
    """Fail with the rule and the element when axe finds any WCAG 2.1 A/AA violation; the
    result per screen is kept under tests/artifacts/axe/."""
    results = axe_results(page)
    out = ARTIFACTS / "axe"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{screen}.json").write_text(json.dumps({"url": page.url, **results}, indent=1))
    violations = results["violations"]
    assert not violations, f"{screen} ({page.url}): WCAG 2.1 A/AA violations\n{describe(violations)}"
    return results


# --- keyboard ------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  const label = (el.getAttribute('aria-label') || el.innerText || el.value || el.name || '').trim().slice(0, 40);
  return {tag: el.tagName.toLowerCase(), name: el.name || '', label: label,
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
          style: style.outlineStyle + ' ' + style.outlineWidth + ' ' + style.outlineColor,
          shadow: style.boxShadow !== 'none',
          x: box.x, y: box.y + window.scrollY, width: box.width, height: box.height,
          inView: box.bottom > 0 && box.top < window.innerHeight && box.right > 0 && box.left < window.innerWidth}
}"""


def focused(page):
    """The element that has the focus now, with its box and whether its focus is visible."""
    return page.evaluate(FOCUSED)


def assert_focus_visible(page):
    """The focused element is on screen and shows a focus indicator (an outline of 2 px or more,
    or a box shadow)."""
    stop = focused(page)
    assert stop is not None, "the focus is lost (on the page itself)"
    assert stop["inView"], f"the focused element is off screen: {stop}"
    assert stop["outline"] or stop["shadow"], f"no visible focus indicator on {stop}"
    return stop


def tab_to(page, selector, limit=60, key="Tab"):
    """Press Tab (or `key`) until `selector` has the focus, checking at every stop that the focus
    is visible; returns the stops passed on the way."""
    stops = []
    for _ in range(limit):
        page.keyboard.press(key)
        stops.append(assert_focus_visible(page))
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return stops
    pytest.fail(f"{selector} not reached with {limit}× {key}; stops: {[s['label'] or s['tag'] for s in stops]}")


def assert_reading_order(stops):
    """Each stop follows the one before it as a reader goes: further down the page, or on the
    same line further right."""
    for before, after in zip(stops, stops[1:]):
        same_line = abs(after["y"] - before["y"]) < max(before["height"], after["height"]) * 0.6
        forward = after["x"] >= before["x"] if same_line else after["y"] > before["y"]  # >=: a date field's parts
        assert forward, f"focus jumps back from {before['label'] or before['tag']!r} to {after['label'] or after['tag']!r}"
