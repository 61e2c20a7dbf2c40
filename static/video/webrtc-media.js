// Built-in video: every browser connects to every other one (a mesh) with RTCPeerConnection.
// Offers, answers and ICE candidates travel over the room's WebSocket (`send`). Whoever joins
// offers to those already there, who answer; after that negotiation follows the "perfect
// negotiation" pattern, so either side may renegotiate — to share a screen or switch a
// device — without colliding.

export async function createWebRTCMedia(config, ui, send) {
  const iceServers = config.ice_servers || [];
  const local = new MediaStream();
  const peers = new Map(); // peer id -> {pc, polite, makingOffer, ignoreOffer, stream}
  let myPeer = null;
  let mic = null;
  let cam = null;
  let screen = null;
  let micOn = true;
  let camOn = true;

  function constraints(kind, deviceId) {
    if (kind === "audio") return deviceId ? { deviceId: { exact: deviceId } } : true;
    return deviceId ? { deviceId: { exact: deviceId }, width: 640, height: 360 } : { width: 640, height: 360 };
  }

  async function acquire(kind, deviceId) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints(kind, deviceId) });
      return stream.getTracks()[0];
    } catch (error) {
      ui.mediaError(kind === "audio" ? "Your microphone could not be used: " + error.message
        : "Your camera could not be used: " + error.message);
      return null;
    }
  }

  function outgoingVideo() {
    return screen || cam;
  }

  function showLocal() {
    for (const track of local.getTracks()) local.removeTrack(track);
    for (const track of [mic, outgoingVideo()]) if (track) local.addTrack(track);
    ui.localPreview(local);
  }

  async function replaceOutgoing(kind, track) {
    for (const entry of peers.values()) {
      const sender = entry.pc.getSenders().find((s) => (s.track && s.track.kind === kind) || s.kind === kind);
      const existing = entry.pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === kind);
      if (existing) {
        await existing.sender.replaceTrack(track);
      } else if (track && !sender) {
        entry.pc.addTrack(track, local); // renegotiates through onnegotiationneeded
      }
    }
  }

  function connect(peerId, { offer = false } = {}) {
    const pc = new RTCPeerConnection({ iceServers });
    const entry = { pc, polite: myPeer > peerId, makingOffer: false, ignoreOffer: false, stream: new MediaStream() };
    peers.set(peerId, entry);
    for (const track of [mic, outgoingVideo()]) if (track) pc.addTrack(track, local);
    if (offer) {
      // Without a microphone or camera the offer still asks for the other person's sound and video.
      if (!mic) pc.addTransceiver("audio", { direction: "recvonly" });
      if (!outgoingVideo()) pc.addTransceiver("video", { direction: "recvonly" });
    }
    pc.onnegotiationneeded = async () => {
      try {
        entry.makingOffer = true;
        await pc.setLocalDescription();
        send({ type: "signal", to: peerId, data: { description: pc.localDescription.toJSON() } });
      } catch (error) {
        console.warn("negotiation", error);
      } finally {
        entry.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      send({ type: "signal", to: peerId, data: { candidate: candidate ? candidate.toJSON() : null } });
    };
    pc.ontrack = ({ track }) => {
      entry.stream.addTrack(track);
      const slot = ui.videoSlot(peerId);
      let video = slot.querySelector("video");
      if (!video) {
        // Muted so it always autoplays; the sound plays through the page's audio element.
        video = document.createElement("video");
        video.autoplay = true;
        video.playsInline = true;
        video.muted = true;
        slot.prepend(video);
      }
      if (video.srcObject !== entry.stream) video.srcObject = entry.stream;
      ui.remoteStream(peerId, entry.stream);
      track.onended = () => entry.stream.removeTrack(track);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") pc.restartIce();
    };
    return entry;
  }

  async function handleSignal(entry, from, data) {
    const pc = entry.pc;
    try {
      if (data.description) {
        const description = data.description;
        const collision = description.type === "offer" && (entry.makingOffer || pc.signalingState !== "stable");
        entry.ignoreOffer = !entry.polite && collision;
        if (entry.ignoreOffer) return;
        await pc.setRemoteDescription(description);
        if (description.type === "offer") {
          await pc.setLocalDescription();
          send({ type: "signal", to: from, data: { description: pc.localDescription.toJSON() } });
        }
      } else if ("candidate" in data) {
        try {
          await pc.addIceCandidate(data.candidate || undefined);
        } catch (error) {
          if (!entry.ignoreOffer) throw error;
        }
      }
    } catch (error) {
      console.warn("signal", error);
    }
  }

  function drop(peerId) {
    const entry = peers.get(peerId);
    if (!entry) return;
    entry.pc.close();
    peers.delete(peerId);
    ui.dropSlot(peerId);
  }

  return {
    kind: "webrtc",

    async join() {
      mic = await acquire("audio");
      cam = await acquire("video");
      if (mic) mic.enabled = micOn;
      if (cam) cam.enabled = camOn;
      showLocal();
      return { mic: Boolean(mic), cam: Boolean(cam) };
    },

    // After (re)connecting: who we are now and who is already here. The newcomer offers a
    // connection to each of them.
    reset(me, others) {
      for (const peerId of [...peers.keys()]) drop(peerId);
      myPeer = me;
      for (const peerId of others) connect(peerId, { offer: true });
    },

    // Someone came in after us: their offer opens the connection (onSignal). Offering from both
    // ends at once would make the offers collide, and Chrome sometimes gathers no ICE
    // candidates at all on the side that rolls its offer back: the two never see each other.
    peerJoined() {},

    peerLeft(peerId) {
      drop(peerId);
    },

    // Signals are handled one after another per peer: a candidate must not overtake the
    // description it belongs to while that description is still being applied.
    onSignal(from, data) {
      const entry = peers.get(from) || connect(from);
      entry.queue = (entry.queue || Promise.resolve()).then(() => handleSignal(entry, from, data));
      return entry.queue;
    },

    async setMic(on) {
      micOn = on;
      if (mic) mic.enabled = on;
      return Boolean(mic) && on;
    },

    async setCam(on) {
      camOn = on;
      if (cam) cam.enabled = on;
      return Boolean(cam) && on;
    },

    async setScreen(on) {
      if (on && !screen) {
        try {
          const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
          screen = stream.getVideoTracks()[0];
        } catch {
          return false;
        }
        screen.onended = () => {
          screen = null;
          replaceOutgoing("video", cam).then(showLocal);
          ui.screenEnded();
        };
        await replaceOutgoing("video", screen);
        showLocal();
        return true;
      }
      if (!on && screen) {
        screen.onended = null;
        screen.stop();
        screen = null;
        await replaceOutgoing("video", cam);
        showLocal();
      }
      return false;
    },

    async setDevices({ camera, microphone, speaker }) {
      if (microphone) {
        const track = await acquire("audio", microphone);
        if (track) {
          track.enabled = micOn;
          await replaceOutgoing("audio", track);
          if (mic) mic.stop();
          mic = track;
        }
      }
      if (camera) {
        const track = await acquire("video", camera);
        if (track) {
          track.enabled = camOn;
          if (!screen) await replaceOutgoing("video", track);
          if (cam) cam.stop();
          cam = track;
        }
      }
      if (speaker) ui.setSpeaker(speaker);
      showLocal();
    },

    async leave() {
      for (const peerId of [...peers.keys()]) drop(peerId);
      for (const track of [mic, cam, screen]) if (track) track.stop();
      mic = cam = screen = null;
    },
  };
}
