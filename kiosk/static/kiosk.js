// The kiosk's only script of its own: the idle clock, and a short sound on each tap when this
// kiosk has sound on (KIOSK_SOUND=1): rising for "you are checked in", low and falling for
// "something is not right, look at the screen". Tones from the Web Audio API, no audio files.
// On a station, the PIN pad's keys.
(function () {
  function tick() {
    var now = new Date();
    document.querySelectorAll("[data-clock]").forEach(function (el) {
      el.textContent = String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
    });
  }
  setInterval(tick, 1000);

  var TONES = {
    success: {wave: "sine", notes: [660, 880], length: 0.18},
    problem: {wave: "triangle", notes: [392, 262], length: 0.32}
  };
  var audio = null;
  function play(kind) {
    var tone = TONES[kind];
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      tone.notes.forEach(function (freq, i) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        var start = audio.currentTime + i * tone.length;
        osc.type = tone.wave;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + tone.length);
        osc.connect(gain).connect(audio.destination);
        osc.start(start);
        osc.stop(start + tone.length + 0.05);
      });
    } catch (e) { /* no audio device: the screen still says it all */ }
  }
  // The station's PIN pad: a touch screen has no keyboard.
  document.body.addEventListener("click", function (evt) {
    var key = evt.target.closest("[data-pin-key]");
    if (!key) return;
    var field = key.form && key.form.querySelector("input[name=pin]");
    if (!field) return;
    var k = key.getAttribute("data-pin-key");
    field.value = k === "back" ? field.value.slice(0, -1) : (field.value + k).slice(0, 8);
  });

  document.body.addEventListener("htmx:sseMessage", function (evt) {
    if (document.body.dataset.sound !== "on") return;
    var kind = /data-sound="(success|problem)"/.exec(evt.detail.data || "");
    if (kind) play(kind[1]);
  });
})();
