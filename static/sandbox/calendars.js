// The emulated calendars page: talks to the emulators' dev endpoints (/sandbox/<provider>/dev/...).

const rows = document.getElementById("events-rows");
const section = document.getElementById("events");
const title = document.getElementById("events-title");
const error = document.getElementById("add-error");
let shown = null;

const when = (value) => {
  // Google: {dateTime} or {date}; Graph: {dateTime, timeZone} (UTC here).
  if (!value) return "";
  if (value.date) return value.date + " (all day)";
  const text = value.timeZone && !/[zZ+]|-\d\d:\d\d$/.test(value.dateTime) ? value.dateTime.slice(0, 19) + "Z" : value.dateTime;
  return new Date(text).toLocaleString();
};

async function show(provider, email) {
  shown = { provider, email };
  const response = await fetch(`/sandbox/${provider}/dev/events?account_email=${encodeURIComponent(email)}`);
  const { items } = await response.json();
  title.textContent = `Events of ${email} (${provider})`;
  rows.replaceChildren(...items.map((event) => {
    const tr = document.createElement("tr");
    const free = event.transparency === "transparent" || event.showAs === "free";
    for (const text of [`${event.summary ?? event.subject ?? ""}${free ? " (free)" : ""}`, when(event.start), when(event.end)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Delete";
    button.addEventListener("click", async () => {
      await fetch(`/sandbox/${provider}/dev/events/${encodeURIComponent(event.id)}`, { method: "DELETE" });
      show(provider, email);
    });
    td.append(button);
    tr.append(td);
    return tr;
  }));
  if (!items.length) rows.innerHTML = '<tr><td colspan="4" class="muted">No events.</td></tr>';
  section.hidden = false;
}

for (const button of document.querySelectorAll("[data-show]")) {
  button.addEventListener("click", () => show(button.dataset.show, button.dataset.email));
}

document.getElementById("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const provider = form.get("provider");
  const email = form.get("account_email").trim();
  const body = {
    account_email: email, calendar: "primary", summary: form.get("summary") || "Busy",
    start: new Date(form.get("start")).toISOString(), end: new Date(form.get("end")).toISOString(),
    all_day: false, transparent: form.get("transparent") === "on",
  };
  const response = await fetch(`/sandbox/${provider}/dev/events`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    error.textContent = answer.detail || answer.error?.message || answer.message || `Refused (${response.status}).`;
    error.hidden = false;
    return;
  }
  error.hidden = true;
  show(provider, email);
});
