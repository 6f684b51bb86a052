// edgematte kiosk: the camera in the browser with its background replaced live, and a capture
// button that sends the full-resolution frame to the server's still path.
//
// Live path: a copy of the current video frame, scaled so that its long side is 256 px, goes as a
// JPEG to POST /kiosk/matte (one request in flight: the next leaves as soon as the answer is in,
// or, if the camera has not given a new frame yet, with the next frame).
// The answer is a PNG whose alpha is the person mask. At requestAnimationFrame rate the page
// draws the chosen background, then the full-resolution frame masked by the mask scaled up to
// the frame's size (on an offscreen canvas: the frame, then 'destination-in' with the mask);
// an animation frame with no new video frame, mask or background draws nothing.
//
// Still path: the frame at the camera's full resolution (JPEG q0.95) goes to POST /v1.0/removebg
// with the background (bg_color, or bg_image_file); the PNG that comes back is shown with
// Download and Print.
//
// URL parameters: ?key=XYZ sends `X-Api-Key: XYZ` with every request this script makes;
// ?mirror=1 mirrors the preview (not the photo); ?camera=1280x720 asks the camera for that size
// (default: the largest up to 1920x1080).
//
// For tests and monitoring, <body> carries data-state (starting | live | busy | result | error),
// data-masks (masks received), data-fps and data-background.

'use strict';

(() => {
  const MATTE_LONG_SIDE = 256;        // the contract of /kiosk/matte
  const MATTE_JPEG_QUALITY = 0.8;     // the small frame: the mask does not need more
  const CAPTURE_JPEG_QUALITY = 0.95;  // the still: as the contract of /v1.0/removebg asks
  const RETRY_MS = 1000;              // after a failed mask request, wait this long before the next
  const FPS_EVERY_MS = 500;           // how often the fps label is updated
  const FPS_WINDOW_MS = 3000;         // ... from the masks of this long

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const video = $('video');
  const preview = $('preview');
  const resultImg = $('result');
  const fpsLabel = $('fps');
  const statusLine = $('status');
  const busy = $('busy');
  const captureButton = $('capture');
  const download = $('download');
  const uploadInput = $('upload');
  const uploadedSwatch = $('uploaded');
  const swatches = Array.from(document.querySelectorAll('#backgrounds button.swatch'));
  const pctx = preview.getContext('2d', { alpha: false });

  const params = new URLSearchParams(location.search);
  const apiKey = params.get('key');
  if (params.get('mirror') === '1') body.classList.add('mirror');

  const state = {
    mode: 'starting',
    bg: null,            // {kind: 'color', hex} | {kind: 'image', bitmap, blob, name, url}
    chosen: 0,           // increases with each choice (a slow load never overrides a later choice)
    mask: null,          // ImageBitmap: the latest mask
    masks: 0,            // masks received
    inFlight: false,     // a /kiosk/matte request is out
    matteFailed: false,  // the status line shows a mask error
    roundTripMs: 0,      // of the latest mask request
    firstMaskAt: null,
    uploaded: null,      // the uploaded background, as state.bg
    resultUrl: null,
  };

  // ---- status line -------------------------------------------------------------------------

  function showStatus(message, isError = false) {
    statusLine.textContent = message;
    statusLine.classList.toggle('error', isError);
  }
  const showError = (message) => showStatus(message, true);
  const clearStatus = () => showStatus('');

  // ---- requests ----------------------------------------------------------------------------

  async function errorText(response) {
    try {
      const title = (await response.clone().json())?.errors?.[0]?.title;
      if (title) return title;
    } catch (_) {
      // not JSON: fall through to the status line
    }
    return `The server answered ${response.status} ${response.statusText}`.trim();
  }

  // fetch with the API key (when the page has ?key=) and the server's JSON error as the message.
  async function request(url, options = {}) {
    const headers = new Headers(options.headers || {});
    if (apiKey) headers.set('X-Api-Key', apiKey);
    let response;
    try {
      response = await fetch(url, { ...options, headers });
    } catch (_) {
      throw new Error('Cannot reach the edgematte server: is `edgematte serve` still running?');
    }
    if (!response.ok) throw new Error(await errorText(response));
    return response;
  }

  function toBlob(canvas, type, quality) {
    return new Promise((resolve, reject) => {
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('Could not encode the frame'))), type, quality);
    });
  }

  // The same, encoded now (toDataURL): Chromium runs toBlob's encoder in idle time, which a page
  // drawing every animation frame seldom has (measured: ~1 s for a 256 px frame on a busy
  // 2-core machine, against ~8 ms this way). For small frames only: it blocks while it encodes.
  function toBlobNow(canvas, type, quality) {
    const url = canvas.toDataURL(type, quality);
    const bin = atob(url.slice(url.indexOf(',') + 1));
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type });
  }

  function makeCanvas(w, h) {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    return c;
  }

  // ---- backgrounds -------------------------------------------------------------------------

  const loaded = new Map();  // swatch -> Promise of its background

  async function loadSwatch(swatch) {
    if (swatch.dataset.color) return { kind: 'color', hex: swatch.dataset.color };
    const url = swatch.dataset.image;
    const blob = await (await request(url)).blob();
    const bitmap = await createImageBitmap(blob);
    return { kind: 'image', blob, bitmap, name: url.split('/').pop(), url: URL.createObjectURL(blob) };
  }

  function backgroundOf(swatch) {
    if (swatch === uploadedSwatch) return Promise.resolve(state.uploaded);
    if (!loaded.has(swatch)) {
      loaded.set(swatch, loadSwatch(swatch).catch((e) => {
        loaded.delete(swatch);  // try again on the next tap
        throw e;
      }));
    }
    return loaded.get(swatch);
  }

  async function choose(swatch) {
    const choice = ++state.chosen;
    for (const s of swatches) s.setAttribute('aria-checked', String(s === swatch));
    try {
      const bg = await backgroundOf(swatch);
      if (choice !== state.chosen) return;
      state.bg = bg;
      body.dataset.background = swatch.dataset.color || swatch.dataset.image || 'upload';
    } catch (e) {
      showError(`Cannot load that background: ${e.message}`);
    }
  }

  function drawBackground(ctx, bg, w, h) {
    if (bg && bg.kind === 'image') {
      // Cover: scaled to fill the frame, centred, the overflow cropped (as the server does).
      const iw = bg.bitmap.width;
      const ih = bg.bitmap.height;
      const s = Math.max(w / iw, h / ih);
      const dw = iw * s;
      const dh = ih * s;
      ctx.drawImage(bg.bitmap, (w - dw) / 2, (h - dh) / 2, dw, dh);
    } else {
      ctx.fillStyle = bg ? `#${bg.hex}` : '#ffffff';
      ctx.fillRect(0, 0, w, h);
    }
  }

  async function useUpload() {
    const file = uploadInput.files && uploadInput.files[0];
    uploadInput.value = '';  // the same file can be chosen again
    if (!file) return;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (_) {
      showError('That file is not an image this browser can open: try a JPEG or PNG.');
      return;
    }
    if (state.uploaded) {
      state.uploaded.bitmap.close();
      URL.revokeObjectURL(state.uploaded.url);
    }
    const url = URL.createObjectURL(file);
    state.uploaded = { kind: 'image', bitmap, blob: file, name: file.name || 'background', url };
    uploadedSwatch.style.backgroundImage = `url("${url}")`;
    uploadedSwatch.hidden = false;
    clearStatus();
    await choose(uploadedSwatch);
  }

  // ---- modes -------------------------------------------------------------------------------

  function setMode(mode) {
    state.mode = mode;
    body.dataset.state = mode;
    const result = mode === 'result';
    preview.hidden = result;
    resultImg.hidden = !result;
    busy.hidden = mode !== 'busy';
    $('live-controls').hidden = result;
    $('result-controls').hidden = !result;
    captureButton.disabled = mode !== 'live';
    if (mode === 'live') sendFrame();
  }

  // ---- camera ------------------------------------------------------------------------------

  function cameraError(e) {
    switch (e && e.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        return 'Camera access was denied: allow the camera for this page, then reload.';
      case 'NotFoundError':
      case 'OverconstrainedError':
        return 'No camera found: connect one, then reload.';
      case 'NotReadableError':
      case 'AbortError':
        return 'The camera is busy or failed: close other programs that use it, then reload.';
      default:
        return `The camera did not start: ${(e && e.message) || e}`;
    }
  }

  function cameraConstraints() {
    const m = /^(\d+)x(\d+)$/.exec(params.get('camera') || '');
    const [w, h] = m ? [Number(m[1]), Number(m[2])] : [1920, 1080];
    return { audio: false, video: { width: { ideal: w }, height: { ideal: h }, facingMode: 'user' } };
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setMode('error');
      showError(window.isSecureContext
        ? 'This browser cannot use a camera (no getUserMedia).'
        : 'The camera needs a secure page: open the kiosk as http://localhost:PORT on this device, or over HTTPS.');
      return;
    }
    showStatus('Starting the camera…');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(cameraConstraints());
    } catch (e) {
      setMode('error');
      showError(cameraError(e));
      return;
    }
    for (const track of stream.getVideoTracks()) {
      track.addEventListener('ended', () => {
        setMode('error');
        showError('The camera stopped: check its cable, then reload.');
      });
    }
    video.srcObject = stream;
    try {
      await video.play();
    } catch (_) {
      // autoplay of a muted stream is allowed; if not, the frames still arrive for drawImage
    }
    if (!video.videoWidth) await new Promise((resolve) => video.addEventListener('loadeddata', resolve, { once: true }));
    showStatus('Finding you…');
    setMode('live');
    if (hasFrameCallback) video.requestVideoFrameCallback(countFrames);
    requestAnimationFrame(draw);
  }

  // ---- live path ---------------------------------------------------------------------------

  const small = makeCanvas(1, 1);
  const sctx = small.getContext('2d');
  const hasFrameCallback = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  let frames = 0;        // video frames presented (counted where the browser has requestVideoFrameCallback)
  let sentFrame = -1;    // the video frame the last mask request was made of
  let waiting = false;   // an answer came before the next video frame: send when it arrives
  const countFrames = () => {
    frames += 1;
    video.requestVideoFrameCallback(countFrames);
    if (waiting) {
      waiting = false;
      sendFrame();
    }
  };

  async function sendFrame() {
    if (state.inFlight || state.mode !== 'live') return;
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return;
    if (hasFrameCallback && frames === sentFrame) {
      waiting = true;  // the same frame again would give the same mask: wait for a new one
      return;
    }
    sentFrame = frames;
    const s = MATTE_LONG_SIDE / Math.max(w, h);
    const sw = Math.max(1, Math.round(w * s));
    const sh = Math.max(1, Math.round(h * s));
    if (small.width !== sw || small.height !== sh) {
      small.width = sw;
      small.height = sh;
    }
    state.inFlight = true;
    const started = performance.now();
    try {
      sctx.drawImage(video, 0, 0, sw, sh);
      const jpeg = toBlobNow(small, 'image/jpeg', MATTE_JPEG_QUALITY);
      const response = await request('/kiosk/matte', {
        method: 'POST',
        headers: { 'Content-Type': 'image/jpeg', 'X-Timestamp-Ms': String(Math.round(started)) },
        body: jpeg,
      });
      const mask = await createImageBitmap(await response.blob(), { colorSpaceConversion: 'none' });
      if (state.mask) state.mask.close();
      state.mask = mask;
      state.masks += 1;
      state.firstMaskAt ??= performance.now();
      countMask();
      state.roundTripMs = performance.now() - started;
      body.dataset.masks = String(state.masks);
      if (state.masks === 1 || state.matteFailed) clearStatus();
      state.matteFailed = false;
      state.inFlight = false;
      sendFrame();
    } catch (e) {
      state.inFlight = false;
      state.matteFailed = true;
      showError(`Live preview: ${e.message}`);
      setTimeout(sendFrame, RETRY_MS);
    }
  }

  let fg = null;  // offscreen canvas: the frame, cut out by the mask
  let fctx = null;
  let drawn = null;  // what the preview shows: [video frame, mask, background]; redrawn when one changes

  function draw() {
    requestAnimationFrame(draw);
    if (state.mode !== 'live') return;  // busy: the preview stays on the captured moment
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h || video.readyState < 2) return;
    if (preview.width !== w || preview.height !== h || !fg) {
      preview.width = w;
      preview.height = h;
      fg = makeCanvas(w, h);
      fctx = fg.getContext('2d');
      drawn = null;
    }
    // A 60 Hz display and a 30 fps camera: every other animation frame has nothing new to draw.
    const now = [hasFrameCallback ? frames : video.currentTime, state.mask, state.bg];
    if (drawn && now.every((x, i) => x === drawn[i])) return;
    drawn = now;
    if (!state.mask) {
      pctx.drawImage(video, 0, 0, w, h);  // until the first mask: the camera as it is
      return;
    }
    drawBackground(pctx, state.bg, w, h);
    fctx.globalCompositeOperation = 'copy';
    fctx.drawImage(video, 0, 0, w, h);
    fctx.globalCompositeOperation = 'destination-in';
    fctx.imageSmoothingEnabled = true;
    fctx.imageSmoothingQuality = 'high';
    fctx.drawImage(state.mask, 0, 0, w, h);
    pctx.drawImage(fg, 0, 0);
  }

  // Masks a second over the last FPS_WINDOW_MS (a slow device still shows a figure, not 0).
  const arrivals = [];
  function countMask() {
    const now = performance.now();
    arrivals.push(now);
    while (arrivals.length && arrivals[0] < now - FPS_WINDOW_MS) arrivals.shift();
  }
  setInterval(() => {
    const now = performance.now();
    while (arrivals.length && arrivals[0] < now - FPS_WINDOW_MS) arrivals.shift();
    const span = Math.min(FPS_WINDOW_MS, now - (state.firstMaskAt ?? now));
    const fps = span > 0 ? (arrivals.length * 1000) / span : 0;
    body.dataset.fps = fps.toFixed(1);
    fpsLabel.textContent = state.masks ? `${fps.toFixed(1)} fps · ${Math.round(state.roundTripMs)} ms` : '– fps';
  }, FPS_EVERY_MS);

  // ---- still path --------------------------------------------------------------------------

  function stamp(d = new Date()) {
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  }

  async function capture() {
    if (state.mode !== 'live') return;
    const w = video.videoWidth;
    const h = video.videoHeight;
    const frame = makeCanvas(w, h);
    frame.getContext('2d').drawImage(video, 0, 0, w, h);
    setMode('busy');
    clearStatus();
    try {
      const jpeg = await toBlob(frame, 'image/jpeg', CAPTURE_JPEG_QUALITY);
      const form = new FormData();
      form.append('image_file', jpeg, 'capture.jpg');
      form.append('size', 'full');
      form.append('format', 'png');
      form.append('type', 'auto');
      const bg = state.bg;
      if (bg && bg.kind === 'image') form.append('bg_image_file', bg.blob, bg.name);
      else form.append('bg_color', bg ? bg.hex : 'ffffff');
      const response = await request('/v1.0/removebg', { method: 'POST', body: form });
      const png = await response.blob();
      if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
      state.resultUrl = URL.createObjectURL(png);
      resultImg.src = state.resultUrl;
      await resultImg.decode();
      download.href = state.resultUrl;
      download.download = `edgematte-${stamp()}.png`;
      setMode('result');
    } catch (e) {
      setMode('live');
      showError(`The photo failed: ${e.message}`);
    }
  }

  function backToPreview() {
    resultImg.removeAttribute('src');
    download.removeAttribute('href');
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = null;
    clearStatus();
    setMode('live');
  }

  // ---- wiring ------------------------------------------------------------------------------

  for (const s of swatches) {
    if (s.dataset.color) s.style.backgroundColor = `#${s.dataset.color}`;
    if (s.dataset.image) {
      backgroundOf(s).then((bg) => { s.style.backgroundImage = `url("${bg.url}")`; }, () => {});
    }
    s.addEventListener('click', () => choose(s));
  }
  uploadInput.addEventListener('change', useUpload);
  captureButton.addEventListener('click', capture);
  $('print').addEventListener('click', () => window.print());
  $('back').addEventListener('click', backToPreview);
  $('stage').addEventListener('contextmenu', (e) => e.preventDefault());  // no long-press menu on a kiosk

  if (navigator.wakeLock) navigator.wakeLock.request('screen').catch(() => {});  // keep the screen on
  choose(swatches.find((s) => s.dataset.image) || swatches[0]);
  startCamera();
})();
