// Audio and video of a call room carried by the Zoom Video SDK (VIDEO_PROVIDER=zoom).
//
// The room page gets `config` from the server (video/providers/zoom.py, join_config):
//   {provider: "zoom", sdk_key, signature, topic, user_name, session_id, assets_path, emulated}
// and calls `createZoomMedia(config, ui)`, where `ui` places the videos:
//   ui.videoSlot(userKey, name) -> HTMLElement   a remote person's tile (created on first call)
//   ui.localSlot()              -> HTMLElement   the self view
//   ui.speaking(userKey)                         the active speaker changed ("self" for oneself)
//   ui.dropSlot(userKey)                         the person left
//   ui.screenEnded()            (optional)       the browser's own "Stop sharing" ended our share
//   ui.mediaError(text)         (optional)       a device could not be used, audio was blocked
// userKey is the person's key (the server puts it in the JWT's user_key). The object returned has
// the same shape as the WebRTC one: join() -> {mic, cam}; setMic/setCam/setScreen(on) -> the
// resulting state (setScreen false also when the person refused); setDevices; leave.
//
// The SDK and its workers/WebAssembly come from our static files (static/vendor/zoom-videosdk/),
// never from Zoom's CDN: `init` is given `config.assets_path` and `patchJsMedia: false`.
// SDK reference: https://developers.zoom.us/docs/video-sdk/web/ and the typings in
// @zoom/videosdk/dist/types (videoclient.d.ts, media.d.ts, event-callback.d.ts).

import ZoomVideo, { VideoQuality } from "../vendor/zoom-videosdk/index.esm.js";

const SCREEN_REFUSED = new Set([6200, 6201]); // SCREEN_SHARE_USER_DENIED, SCREEN_SHARE_SYSTEM_DENIED
const MANY_VIDEOS = 4; // past this many remote people, ask Zoom for 360p rather than 720p

// The server puts the person's key in the JWT's user_key/user_identity; a UUID key travels
// without its dashes (Zoom allows 35 characters), so they are put back here.
function personKey(user) {
  const id = user.userKey || user.userIdentity || "";
  if (/^[0-9a-f]{32}$/.test(id)) {
    return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
  }
  return id || `zoom-${user.userId}`;
}

// The SDK rejects with {type, reason, errorCode} objects rather than Errors.
function zoomError(failure, what) {
  if (failure instanceof Error) return failure;
  const reason = failure && (failure.reason || failure.type);
  const code = failure && failure.errorCode ? ` (${failure.errorCode})` : "";
  return new Error(`Zoom could not ${what}: ${reason || "unknown error"}${code}`);
}

// attachVideo() returns a <video-player>, which must sit inside a <video-player-container>.
function playerContainer(slot) {
  if (slot.localName === "video-player-container") return slot;
  let container = slot.querySelector(":scope > video-player-container");
  if (!container) {
    container = document.createElement("video-player-container");
    container.style.display = "block";
    container.style.width = "100%";
    container.style.height = "100%";
    slot.appendChild(container);
  }
  return container;
}

function removeElements(detached) {
  for (const element of Array.isArray(detached) ? detached : [detached]) {
    if (element && typeof element.remove === "function") element.remove();
  }
}

export async function createZoomMedia(config, ui) {
  let client = null;
  let stream = null;
  let selfId = null;
  let audioStarted = false;
  let sharing = false;
  let shareElement = null;
  let activeShareUserId = null;
  const devices = { camera: undefined, microphone: undefined, speaker: undefined };
  // Zoom user id -> {key, name, video}; one person may be connected twice (two tabs), so tiles are
  // kept per key and dropped when the last of that person's connections leaves.
  const users = new Map();
  const listeners = [];

  const report = (text) => {
    if (typeof ui.mediaError === "function") ui.mediaError(text);
    else console.warn(text);
  };
  const on = (event, handler) => {
    client.on(event, handler);
    listeners.push([event, handler]);
  };
  const keyCount = (key) => [...users.values()].filter((u) => u.key === key).length;
  const quality = () => (users.size > MANY_VIDEOS ? VideoQuality.Video_360P : VideoQuality.Video_720P);

  const isSelf = (userId) => userId === (selfId ?? client?.getCurrentUserInfo()?.userId);

  async function attachRemoteVideo(userId) {
    const user = users.get(userId);
    if (!user || !stream || user.video) return;
    user.video = true;
    try {
      const player = await stream.attachVideo(userId, quality());
      if (!(player instanceof HTMLElement)) throw player; // an ExecutedFailure resolved, not rejected
      playerContainer(ui.videoSlot(user.key, user.name)).appendChild(player);
    } catch (failure) {
      user.video = false;
      console.warn(zoomError(failure, "show a video"));
    }
  }

  async function detachRemoteVideo(userId) {
    const user = users.get(userId);
    if (!user || !stream || !user.video) return;
    user.video = false;
    try {
      removeElements(await stream.detachVideo(userId));
    } catch (failure) {
      console.warn(zoomError(failure, "stop a video"));
    }
  }

  // Called for people already there, newcomers and updates alike (events may arrive before
  // join() has the media stream; videos are attached once it has).
  async function addUser(participant) {
    if (isSelf(participant.userId)) return;
    const full = (client && client.getUser(participant.userId)) || participant;
    const known = users.get(participant.userId);
    const key = personKey(full);
    if (known && known.key !== key) {
      // The identity arrived with an update: move the person to their own tile.
      await detachRemoteVideo(participant.userId);
      users.delete(participant.userId);
      if (keyCount(known.key) === 0) ui.dropSlot(known.key);
    }
    const user = users.get(participant.userId) || { key, name: "", video: false };
    user.name = full.displayName || user.name;
    users.set(participant.userId, user);
    ui.videoSlot(user.key, user.name);
    if (full.bVideoOn) await attachRemoteVideo(participant.userId);
    if (full.sharerOn && activeShareUserId === null) await showShare(participant.userId);
  }

  async function removeUser(participant) {
    const user = users.get(participant.userId);
    if (!user) return;
    await detachRemoteVideo(participant.userId);
    if (activeShareUserId === participant.userId) await hideShare(participant.userId);
    users.delete(participant.userId);
    if (keyCount(user.key) === 0) ui.dropSlot(user.key);
  }

  // Someone else's screen share goes into their tile, over their camera.
  async function showShare(userId) {
    const user = users.get(userId);
    if (!user || !stream) return;
    if (activeShareUserId !== null && activeShareUserId !== userId) await hideShare(activeShareUserId);
    try {
      const view = await stream.attachShareView(userId);
      if (view instanceof HTMLElement) {
        view.classList.add("zoom-share");
        const slot = ui.videoSlot(user.key, user.name);
        slot.dataset.sharing = "1";
        playerContainer(slot).appendChild(view);
        activeShareUserId = userId;
      }
    } catch (failure) {
      console.warn(zoomError(failure, "show a shared screen"));
    }
  }

  async function hideShare(userId) {
    try {
      removeElements(await stream.detachShareView(userId));
    } catch (failure) {
      console.warn(zoomError(failure, "stop showing a shared screen"));
    }
    const user = users.get(userId);
    if (user) delete ui.videoSlot(user.key, user.name).dataset.sharing;
    if (activeShareUserId === userId) activeShareUserId = null;
  }

  async function showSelf() {
    try {
      const player = await stream.attachVideo(selfId, VideoQuality.Video_360P);
      if (player instanceof HTMLElement) playerContainer(ui.localSlot()).appendChild(player);
    } catch (failure) {
      console.warn(zoomError(failure, "show your video"));
    }
  }

  async function startAudio() {
    const options = {};
    if (devices.microphone) options.microphoneId = devices.microphone;
    if (devices.speaker) options.speakerId = devices.speaker;
    try {
      await stream.startAudio(options);
      audioStarted = true;
      return true;
    } catch (failure) {
      report(zoomError(failure, "start your microphone").message); // e.g. permission denied (6010)
      return false;
    }
  }

  async function startVideo() {
    try {
      await stream.startVideo(devices.camera ? { cameraId: devices.camera } : {});
    } catch (failure) {
      report(zoomError(failure, "start your camera").message); // e.g. permission denied, camera in use
      return false;
    }
    await showSelf();
    return true;
  }

  function subscribe() {
    on("user-added", (payload) => payload.forEach(addUser));
    on("user-updated", (payload) => payload.forEach((p) => users.has(p.userId) && addUser(p)));
    on("user-removed", (payload) => payload.forEach(removeUser));
    on("peer-video-state-change", ({ action, userId }) => {
      if (!users.has(userId)) return;
      if (action === "Start") attachRemoteVideo(userId);
      else detachRemoteVideo(userId);
    });
    on("active-speaker", (payload) => {
      const speaker = payload && payload[0];
      if (!speaker) return;
      if (isSelf(speaker.userId)) ui.speaking("self");
      else if (users.has(speaker.userId)) ui.speaking(users.get(speaker.userId).key);
    });
    on("active-share-change", ({ state, userId }) => {
      if (isSelf(userId)) return;
      if (state === "Active") showShare(userId);
      else hideShare(userId);
    });
    on("passively-stop-share", () => {
      sharing = false;
      shareElement?.remove();
      shareElement = null;
      if (typeof ui.screenEnded === "function") ui.screenEnded();
    });
    on("auto-play-audio-failed", () => {
      // The browser blocked playback until the person interacts with the page again.
      report("Click anywhere on the page to hear the call.");
    });
  }

  return {
    kind: "zoom",

    // Call from a user gesture (a click): browsers only grant the microphone and autoplay then.
    async join() {
      if (config.emulated) {
        throw new Error("Zoom is emulated on this server (no ZOOM_VIDEO_SDK_KEY), video needs real Zoom keys");
      }
      const support = ZoomVideo.checkSystemRequirements();
      if (!support.audio && !support.video) throw new Error("This browser cannot join Zoom calls.");
      client = ZoomVideo.createClient();
      const assets = new URL(config.assets_path, window.location.href).href.replace(/\/$/, "");
      try {
        await client.init("en-US", assets, {
          patchJsMedia: false, // never fetch newer media code from Zoom's CDN
          leaveOnPageUnload: true,
          stayAwake: true,
          // Without cross-origin isolation (no SharedArrayBuffer) WebAssembly video shows one
          // remote video unless asked for more.
          enforceMultipleVideos: !window.crossOriginIsolated,
        });
        subscribe();
        await client.join(config.topic, config.signature, config.user_name);
      } catch (failure) {
        throw zoomError(failure, "join the call");
      }
      stream = client.getMediaStream();
      selfId = client.getCurrentUserInfo().userId;
      for (const participant of client.getAllUser()) await addUser(participant);
      const mic = await startAudio();
      const cam = await startVideo();
      return { mic, cam };
    },

    async setMic(on) {
      if (!stream) return false;
      if (on && !audioStarted) return startAudio();
      if (!audioStarted) return false;
      try {
        await (on ? stream.unmuteAudio() : stream.muteAudio());
      } catch (failure) {
        console.warn(zoomError(failure, on ? "unmute" : "mute"));
      }
      return !stream.isAudioMuted();
    },

    async setCam(on) {
      if (!stream) return false;
      if (on) return stream.isCapturingVideo() ? true : startVideo();
      if (!stream.isCapturingVideo()) return false;
      try {
        await stream.stopVideo();
        removeElements(await stream.detachVideo(selfId));
      } catch (failure) {
        console.warn(zoomError(failure, "stop your camera"));
      }
      return stream.isCapturingVideo();
    },

    // Whether our screen is shared afterwards: false when turned off, and when the person (or the
    // system) refused to share.
    async setScreen(on) {
      if (!stream) return false;
      if (!on) {
        if (sharing) {
          try {
            await stream.stopShareScreen();
          } catch (failure) {
            console.warn(zoomError(failure, "stop sharing"));
          }
        }
        sharing = false;
        shareElement?.remove();
        shareElement = null;
        return false;
      }
      if (sharing) return true;
      // The SDK renders our own share into an element of its choosing; nobody needs to see it.
      shareElement = document.createElement(stream.isStartShareScreenWithVideoElement() ? "video" : "canvas");
      shareElement.hidden = true;
      ui.localSlot().appendChild(shareElement);
      try {
        await stream.startShareScreen(shareElement);
        sharing = true;
        return true;
      } catch (failure) {
        shareElement.remove();
        shareElement = null;
        if (!SCREEN_REFUSED.has(failure && failure.errorCode)) report(zoomError(failure, "share your screen").message);
        return false;
      }
    },

    async setDevices({ camera, microphone, speaker } = {}) {
      if (camera !== undefined) devices.camera = camera;
      if (microphone !== undefined) devices.microphone = microphone;
      if (speaker !== undefined) devices.speaker = speaker;
      if (!stream) return;
      const switches = [];
      if (camera !== undefined && stream.isCapturingVideo()) switches.push(stream.switchCamera(camera));
      if (microphone !== undefined && audioStarted) switches.push(stream.switchMicrophone(microphone));
      if (speaker !== undefined && audioStarted) switches.push(stream.switchSpeaker(speaker));
      for (const result of await Promise.allSettled(switches)) {
        if (result.status === "rejected") console.warn(zoomError(result.reason, "switch a device"));
      }
    },

    async leave() {
      if (!client) return;
      for (const [event, handler] of listeners) client.off(event, handler);
      listeners.length = 0;
      try {
        await client.leave();
      } catch (failure) {
        console.warn(zoomError(failure, "leave"));
      }
      shareElement?.remove();
      shareElement = null;
      const keys = new Set([...users.values()].map((u) => u.key));
      users.clear();
      keys.forEach((key) => ui.dropSlot(key));
      ui.localSlot().querySelector(":scope > video-player-container")?.remove();
      try {
        await ZoomVideo.destroyClient();
      } catch (failure) {
        console.warn(zoomError(failure, "clean up"));
      }
      client = stream = selfId = null;
      audioStarted = sharing = false;
    },
  };
}
