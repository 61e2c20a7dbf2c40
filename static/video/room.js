// The call room: one page, no reloads. The WebSocket carries presence, chat, hands and the
// host's moderation for every provider; audio and video go through the provider's module.

import { createWebRTCMedia } from "./webrtc-media.js";

const config = JSON.parse(document.getElementById("room-config").textContent);
const $ = (selector) => document.querySelector(selector);
const FINAL_CLOSES = new Set([4403, 4404, 4409]);

const state = {
  me: null, // our peer (changes with every connection)
  peers: new Map(), // peer id -> peer
  token: config.token,
  socket: null,
  left: false,
  over: false,
  retry: 0,
  mic: true,
  cam: true,
  screen: false,
  hand: false,
  speaker: null,
  lastRefusal: null,
  lastReason: null,
};

// --- small helpers ------------------------------------------------------------------------

function status(text) {
  $("#room-status").textContent = text;
}

function csrf() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function peerByKey(key) {
  for (const peer of state.peers.values()) if (peer.key === key) return peer;
  return null;
}

function nameOf(slotKey) {
  const peer = state.peers.get(slotKey) || peerByKey(slotKey);
  if (!peer) return "";
  return peer.is_host ? `${peer.name} (host)` : peer.name;
}

// --- what the media modules ask of the page ------------------------------------------------

const audio = { context: null, meters: new Map() };

const ui = {
  videoSlot(key) {
    let tile = document.querySelector(`.tile[data-key="${CSS.escape(key)}"]`);
    if (!tile) {
      tile = el("figure", { class: "tile", "data-key": key },
        el("figcaption", { text: nameOf(key) }));
      $("#grid").append(tile);
    }
    return tile;
  },
  localSlot() {
    return $("#tile-self");
  },
  localPreview(stream) {
    $("#self-video").srcObject = stream;
    $("#preview-video").srcObject = stream;
  },
  // Someone's sound: browsers only play it after the person has interacted with the page, so
  // when they refuse, a button asks for the click that lets the call be heard.
  remoteStream(key, stream) {
    const tile = ui.videoSlot(key);
    let sound = tile.querySelector("audio");
    if (!sound) {
      sound = el("audio", { autoplay: true });
      tile.append(sound);
    }
    if (sound.srcObject !== stream) sound.srcObject = stream;
    if (state.speaker && sound.setSinkId) sound.setSinkId(state.speaker).catch(() => {});
    sound.play().catch(() => {
      $("#audio-unlock").hidden = false;
    });
    watchVoice(key, stream);
  },
  dropSlot(key) {
    const tile = document.querySelector(`.tile[data-key="${CSS.escape(key)}"]`);
    if (tile) tile.remove();
    audio.meters.delete(key);
  },
  speaking(key) {
    for (const tile of document.querySelectorAll(".tile")) tile.classList.toggle("speaking", tile.dataset.key === key);
  },
  mediaError(text) {
    status(text);
  },
  screenEnded() {
    state.screen = false;
    reflectControls();
    announceMedia();
  },
  setSpeaker(deviceId) {
    state.speaker = deviceId;
    for (const sound of document.querySelectorAll(".tile audio")) {
      if (sound.setSinkId) sound.setSinkId(deviceId).catch(() => {});
    }
  },
};

// The active speaker: the loudest voice above a floor, measured four times a second.
function watchVoice(key, stream) {
  if (!stream.getAudioTracks().length || audio.meters.has(key)) return;
  try {
    audio.context ||= new AudioContext();
    const source = audio.context.createMediaStreamSource(stream);
    const analyser = audio.context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    audio.meters.set(key, { analyser, data: new Uint8Array(analyser.fftSize) });
  } catch {
    // no audio analysis in this browser: no highlight, the call still works
  }
}

setInterval(() => {
  let loudest = null;
  let level = 12;
  for (const [key, meter] of audio.meters) {
    meter.analyser.getByteTimeDomainData(meter.data);
    let sum = 0;
    for (const value of meter.data) sum += Math.abs(value - 128);
    const average = sum / meter.data.length;
    if (average > level) [loudest, level] = [key, average];
  }
  if (loudest) ui.speaking(loudest);
}, 250);

// --- the media provider -------------------------------------------------------------------

let media;

async function mediaStart() {
  if (config.media.provider === "zoom") {
    const { createZoomMedia } = await import("./zoom-media.js");
    media = await createZoomMedia(config.media, ui);
  } else {
    media = await createWebRTCMedia(config.media, ui, send);
  }
  const got = (await media.join()) || { mic: true, cam: true };
  state.mic = Boolean(got.mic);
  state.cam = Boolean(got.cam);
  reflectControls();
  listDevices();
}

async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (select, kind) => {
    const current = select.value;
    select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) =>
      el("option", { value: d.deviceId, text: d.label || `${kind} ${i + 1}` })));
    if (current) select.value = current;
    select.disabled = !select.options.length;
  };
  fill($("#camera-select"), "videoinput");
  fill($("#mic-select"), "audioinput");
  fill($("#speaker-select"), "audiooutput");
}

// --- the socket ---------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${config.socket_path}?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.onopen = () => {
    state.retry = 0;
  };
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    const handler = handlers[message.type];
    if (handler) handler(message);
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    document.body.dataset.connection = "closed";
    if (state.left || state.over) return;
    if (FINAL_CLOSES.has(event.code)) {
      shutOut(state.lastRefusal || "You cannot be in this call.", state.lastReason);
      return;
    }
    reconnect();
  };
}

async function reconnect() {
  const wait = Math.min(10000, 1000 * 2 ** state.retry);
  state.retry += 1;
  status(`Connection lost. Reconnecting in ${Math.round(wait / 1000)} s…`);
  document.body.dataset.connection = "reconnecting";
  await new Promise((resolve) => setTimeout(resolve, wait));
  if (state.left || state.over) return; // left (or shut out) while waiting
  try {
    const response = await fetch(config.token_url, {
      method: "POST", headers: { "X-CSRFToken": csrf(), Accept: "application/json" }, credentials: "same-origin",
    });
    const body = await response.json();
    if (response.status === 403) {
      shutOut(body.detail);
      return;
    }
    if (response.ok) state.token = body.token;
  } catch {
    // still offline: try again with the old token; the server answers 4401 and we come back here
  }
  if (state.left || state.over || state.socket) return;
  connect();
}

setInterval(() => send({ type: "ping" }), 25000);

function announceMedia() {
  send({ type: "media", mic: state.mic, cam: state.cam, screen: state.screen });
}

const handlers = {
  welcome(message) {
    state.me = message.you;
    state.peers = new Map(message.peers.map((peer) => [peer.peer, peer]));
    document.body.dataset.connection = "open";
    status("You are in the call.");
    const log = $("#chat-log");
    log.replaceChildren();
    for (const item of message.chat) addChat(item);
    if (media && media.reset) media.reset(state.me.peer, message.peers.filter((p) => p.peer !== state.me.peer).map((p) => p.peer));
    announceMedia();
    if (state.hand) send({ type: "hand", raised: true });
    renderPeople();
  },
  peer_joined(message) {
    state.peers.set(message.peer.peer, message.peer);
    if (media && media.peerJoined) media.peerJoined(message.peer.peer);
    renderPeople();
  },
  peer_left(message) {
    state.peers.delete(message.peer);
    if (media && media.peerLeft) media.peerLeft(message.peer);
    renderPeople();
  },
  peer_updated(message) {
    if (!state.peers.has(message.peer.peer) && media && media.peerJoined) media.peerJoined(message.peer.peer);
    state.peers.set(message.peer.peer, message.peer);
    if (state.me && message.peer.peer === state.me.peer) {
      state.hand = Boolean(message.peer.hand_raised_at);
      reflectControls();
    }
    renderPeople();
  },
  peers(message) {
    state.peers = new Map(message.peers.map((peer) => [peer.peer, peer]));
    const mine = state.me && state.peers.get(state.me.peer);
    state.hand = Boolean(mine && mine.hand_raised_at);
    reflectControls();
    renderPeople();
  },
  signal(message) {
    if (media && media.onSignal) media.onSignal(message.from, message.data);
  },
  chat(message) {
    addChat(message.message);
  },
  async moderation(message) {
    const notes = {
      mute: "The host muted your microphone.",
      camera_off: "The host turned off your camera.",
      stop_screen: "The host stopped your screen share.",
    };
    if (message.action === "mute") state.mic = await media.setMic(false);
    if (message.action === "camera_off") state.cam = await media.setCam(false);
    if (message.action === "stop_screen") state.screen = await media.setScreen(false);
    reflectControls();
    announceMedia();
    status(notes[message.action] || "");
  },
  refused(message) {
    state.lastRefusal = message.message;
    state.lastReason = message.reason;
  },
  removed(message) {
    state.lastRefusal = message.message;
  },
  replaced(message) {
    state.lastRefusal = message.message;
  },
  call_over() {
    state.over = true;
    finish("This call is over. Thank you for joining.", { rejoin: false });
  },
  error(message) {
    // A signal for someone who just left is refused as a matter of course: nothing to tell.
    if (message.about !== "signal") status(message.message);
  },
  pong() {},
};

// --- the people list, chat and controls ------------------------------------------------------

function sortedPeers() {
  return [...state.peers.values()].sort((a, b) => {
    if (Boolean(a.hand_raised_at) !== Boolean(b.hand_raised_at)) return a.hand_raised_at ? -1 : 1;
    if (a.hand_raised_at && b.hand_raised_at) return a.hand_raised_at < b.hand_raised_at ? -1 : 1;
    return 0;
  });
}

function renderPeople() {
  const amHost = config.you.is_host;
  const list = $("#people");
  list.replaceChildren(...sortedPeers().map((peer) => {
    const mine = state.me && peer.peer === state.me.peer;
    const badges = el("span", { class: "badges" },
      peer.hand_raised_at ? el("span", { class: "hand", text: "Hand raised" }) : null,
      el("span", { class: "mic-state", text: peer.mic ? "Mic on" : "Muted" }),
      el("span", { class: "cam-state", text: peer.cam ? "Camera on" : "Camera off" }),
      peer.screen ? el("span", { class: "screen-state", text: "Sharing screen" }) : null);
    const controls = amHost && !peer.is_host ? el("span", { class: "controls" },
      el("button", { type: "button", class: "small", text: "Mute", "aria-label": `Mute ${peer.name}`,
        onclick: () => send({ type: "moderate", action: "mute", target: peer.peer }) }),
      el("button", { type: "button", class: "small", text: "Stop camera", "aria-label": `Stop ${peer.name}'s camera`,
        onclick: () => send({ type: "moderate", action: "camera_off", target: peer.peer }) }),
      peer.screen ? el("button", { type: "button", class: "small", text: "Stop sharing",
        "aria-label": `Stop ${peer.name}'s screen share`,
        onclick: () => send({ type: "moderate", action: "stop_screen", target: peer.peer }) }) : null,
      el("button", { type: "button", class: "small danger", text: "Remove", "aria-label": `Remove ${peer.name}`,
        onclick: () => {
          if (confirm(`Remove ${peer.name} from the call? They will not be able to come back.`)) {
            send({ type: "moderate", action: "remove", target: peer.peer });
          }
        } })) : null;
    return el("li", { "data-peer": peer.peer, "data-key": peer.key, "data-hand": peer.hand_raised_at ? "1" : "0" },
      el("strong", { class: "who", text: `${peer.name}${peer.is_host ? " (host)" : ""}${mine ? " (you)" : ""}` }),
      badges, controls);
  }));
  const hostHere = [...state.peers.values()].some((p) => p.is_host);
  $("#host-notice").hidden = hostHere || config.you.is_host;
  $("#people-count").textContent = String(state.peers.size);
  for (const tile of document.querySelectorAll(".tile[data-key]")) {
    const caption = tile.querySelector("figcaption");
    if (caption && !tile.classList.contains("self")) caption.textContent = nameOf(tile.dataset.key);
  }
}

function addChat(item) {
  const body = item.file
    ? el("a", { href: item.file.url, text: `${item.file.name} (${Math.max(1, Math.round(item.file.size / 1024))} kB)` })
    : el("span", { class: "text", text: item.text });
  const time = new Date(item.sent_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  $("#chat-log").append(el("li", {}, el("strong", { text: item.author }), " ",
    el("time", { datetime: item.sent_at, class: "muted", text: time }), el("br"), body));
  $("#chat-log").scrollTop = $("#chat-log").scrollHeight;
}

function toggle(button, on, onText, offText) {
  button.setAttribute("aria-pressed", on ? "true" : "false");
  button.dataset.state = on ? "on" : "off";
  button.textContent = on ? onText : offText;
}

function reflectControls() {
  toggle($("#mic"), state.mic, "Mute microphone", "Unmute microphone");
  $("#mic").dataset.state = state.mic ? "on" : "muted";
  toggle($("#cam"), state.cam, "Stop camera", "Start camera");
  toggle($("#screen"), state.screen, "Stop sharing", "Share screen");
  toggle($("#hand"), state.hand, "Lower hand", "Raise hand");
}

$("#audio-unlock").addEventListener("click", () => {
  for (const sound of document.querySelectorAll(".tile audio")) sound.play().catch(() => {});
  if (audio.context) audio.context.resume();
  $("#audio-unlock").hidden = true;
});

$("#mic").addEventListener("click", async () => {
  state.mic = await media.setMic(!state.mic);
  reflectControls();
  announceMedia();
});
$("#cam").addEventListener("click", async () => {
  state.cam = await media.setCam(!state.cam);
  reflectControls();
  announceMedia();
});
$("#screen").addEventListener("click", async () => {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
    status("This browser cannot share its screen.");
    return;
  }
  state.screen = await media.setScreen(!state.screen);
  reflectControls();
  announceMedia();
});
$("#hand").addEventListener("click", () => {
  state.hand = !state.hand;
  reflectControls();
  send({ type: "hand", raised: state.hand });
});
$("#leave").addEventListener("click", () => {
  state.left = true;
  send({ type: "leave" });
  if (state.socket) state.socket.close(1000);
  finish("You left the call.");
});
$("#rejoin").addEventListener("click", async () => {
  state.left = false;
  state.over = false;
  state.lastRefusal = state.lastReason = null;
  $("#after").hidden = true;
  $("#room-main").hidden = false;
  await mediaStart();
  reconnect();
});

if (config.you.is_host) {
  $("#mute-all").addEventListener("click", () => send({ type: "moderate", action: "mute", target: "all" }));
  $("#cameras-off").addEventListener("click", () => send({ type: "moderate", action: "camera_off", target: "all" }));
  $("#lower-hands").addEventListener("click", () => send({ type: "moderate", action: "lower_hands" }));
}

$("#chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("#chat-text");
  const text = input.value.trim();
  if (!text) return;
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
    status("Not connected right now: your message is kept, send it again in a moment.");
    return;
  }
  send({ type: "chat", text });
  input.value = "";
});

$("#chat-file").addEventListener("change", () => {
  const file = $("#chat-file").files[0];
  if (!file) return;
  const progress = $("#chat-progress");
  if (file.size > config.max_file_bytes) {
    status(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; files are at most 10 MB.`);
    $("#chat-file").value = "";
    return;
  }
  const form = new FormData();
  form.append("file", file);
  const request = new XMLHttpRequest();
  request.open("POST", config.files_url);
  request.setRequestHeader("X-CSRFToken", csrf());
  request.setRequestHeader("Accept", "application/json");
  progress.hidden = false;
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) progress.value = event.loaded / event.total;
  };
  request.onloadend = () => {
    progress.hidden = true;
    $("#chat-file").value = "";
    if (request.status !== 201) {
      try {
        status(JSON.parse(request.responseText).detail);
      } catch {
        status("The file could not be sent.");
      }
    }
  };
  request.send(form);
});

for (const [selector, kind] of [["#camera-select", "camera"], ["#mic-select", "microphone"], ["#speaker-select", "speaker"]]) {
  $(selector).addEventListener("change", (event) => media.setDevices({ [kind]: event.target.value }).then(listDevices));
}
if (navigator.mediaDevices) navigator.mediaDevices.addEventListener("devicechange", listDevices);

// --- leaving, the end, being refused ----------------------------------------------------------

async function finish(text, { rejoin = true, rate = true } = {}) {
  $("#room-main").hidden = true;
  $("#after").hidden = false;
  $("#after-message").textContent = text;
  $("#rejoin").hidden = !rejoin;
  if (config.rating_url) $("#rating").hidden = !rate;
  status(text);
  audio.meters.clear();
  for (const tile of document.querySelectorAll(".tile:not(.self)")) tile.remove();
  if (media) await media.leave();
}

// Refused or put out. A full room may have a place again later; a call that is over can
// still be rated by those who were in it (the server checks that they were).
function shutOut(text, reason) {
  state.over = reason !== "full";
  finish(text, { rejoin: reason === "full", rate: reason === "over" });
}

const ratingForm = $("#rating");
if (ratingForm) {
  ratingForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch(config.rating_url, {
      method: "POST", body: new FormData(ratingForm), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
    });
    const body = await response.json();
    $("#rating-result").textContent = body.detail;
    if (response.ok) ratingForm.querySelector("button").textContent = "Update rating";
  });
}

// --- go -----------------------------------------------------------------------------------------

(async () => {
  status("Starting your camera and microphone…");
  try {
    await mediaStart();
  } catch (error) {
    status(`Video could not start: ${error.message}. You can still chat.`);
  }
  connect();
})();
