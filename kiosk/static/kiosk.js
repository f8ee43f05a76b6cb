// The kiosk's only script of its own: the idle clock and a short sound on each tap.
(function () {
  function tick() {
    var now = new Date();
    document.querySelectorAll("[data-clock]").forEach(function (el) {
      el.textContent = String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
    });
  }
  setInterval(tick, 1000);

  var audio = null;
  function chime(good) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var notes = good ? [660, 880] : [440];
      notes.forEach(function (freq, i) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        var start = audio.currentTime + i * 0.12;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(start);
        osc.stop(start + 0.3);
      });
    } catch (e) { /* no audio device: the screen still says it all */ }
  }
  document.body.addEventListener("htmx:sseMessage", function (evt) {
    var good = /data-result="(on_time|late)"/.test(evt.detail.data || "");
    chime(good);
  });
})();
