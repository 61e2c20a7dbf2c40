// Live preview of the theme page: sets the theme's CSS custom properties on the preview element
// as the owner edits, and reports contrast with the same WCAG 2.x formula and rule as the server
// (themes/contrast.py, themes/css.py, themes/services.py). The server still checks on save.

const config = JSON.parse(document.getElementById("theme-preview-config").textContent);
const form = document.getElementById("theme-form");
const preview = document.getElementById("theme-preview");
const report = document.getElementById("contrast-report");
const HEX = /^#[0-9a-f]{6}$/;

const field = (name) => form.elements.namedItem(name);
const radioValue = (name) => {
  const checked = form.querySelector(`input[name="${name}"]:checked`);
  return checked ? checked.value : null;
};
const setRadio = (name, value) => {
  const input = form.querySelector(`input[name="${name}"][value="${value}"]`);
  if (input) input.checked = true;
};

// --- WCAG 2.x contrast (as themes/contrast.py) ---------------------------------------------
function channel(value) {
  const c = value / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}
function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}
export function contrastRatio(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)];
  return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
}
export function formatRatio(ratio) {
  return (Math.floor(ratio * 100) / 100).toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
}
export function textColorOn(background) {
  return contrastRatio("#ffffff", background) >= contrastRatio("#000000", background) ? "#ffffff" : "#000000";
}
function mix(color, base, share) {
  const parts = [1, 3, 5].map((i) => {
    const value = Math.round(parseInt(color.slice(i, i + 2), 16) * share + parseInt(base.slice(i, i + 2), 16) * (1 - share));
    return value.toString(16).padStart(2, "0");
  });
  return `#${parts.join("")}`;
}

// --- The theme being edited --------------------------------------------------------------------
function colorOf(name) {
  const value = field(name).value.trim().toLowerCase();
  return HEX.test(value) ? value : null;
}

function current() {
  return {
    primary: colorOf("primary_color"), accent: colorOf("accent_color"),
    font: field("font").value, mode: radioValue("mode") || "light", corners: radioValue("corners") || "rounded",
  };
}

function variables(theme) {
  const palette = config.modes[theme.mode];
  const [radius, radiusSmall] = config.corners[theme.corners];
  const vars = {};
  for (const [name, value] of Object.entries(palette)) vars[`--${name}`] = value;
  if (theme.primary) Object.assign(vars, { "--primary": theme.primary, "--primary-text": textColorOn(theme.primary) });
  if (theme.accent) {
    Object.assign(vars, { "--accent": theme.accent, "--accent-text": textColorOn(theme.accent),
                          "--tint": mix(theme.accent, palette.card, config.tintShare) });
  }
  Object.assign(vars, { "--radius": radius, "--radius-sm": radiusSmall, "--font": config.fonts[theme.font] });
  return vars;
}

function line(text, failing = false) {
  const p = document.createElement("p");
  p.textContent = text;
  if (failing) p.className = "fail";
  return p;
}

function contrastLines(theme) {
  const lines = [];
  for (const name of ["primary_color", "accent_color"]) {
    if (!colorOf(name)) {
      lines.push(line(`${name} “${field(name).value}” is not a colour written as #rrggbb (six hexadecimal digits).`, true));
    }
  }
  const palette = config.modes[theme.mode];
  if (theme.primary) {
    const results = config.surfaces.map(([key, label]) => ({ key, label, ratio: contrastRatio(theme.primary, palette[key]) }));
    for (const { key, label, ratio } of results) {
      lines.push(line(`Links: ${theme.primary} on the ${theme.mode} ${label} ${palette[key]} — ${formatRatio(ratio)}:1 ${ratio >= config.aa ? "✓" : "✗"}`));
    }
    const worst = results.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    if (worst.ratio < config.aa) {
      const darker = theme.mode === "light";
      lines.push(line(`primary_color ${theme.primary} on the ${theme.mode} ${worst.label} ${palette[worst.key]} has a contrast of `
        + `${formatRatio(worst.ratio)}:1; text needs at least ${config.aa}:1 (WCAG AA). Choose a ${darker ? "darker" : "lighter"} `
        + `primary colour or the ${darker ? "dark" : "light"} mode. The theme cannot be saved like this.`, true));
    }
    const label = textColorOn(theme.primary);
    lines.push(line(`Button labels: ${label} on ${theme.primary} — ${formatRatio(contrastRatio(label, theme.primary))}:1 ✓ (chosen automatically)`));
  }
  if (theme.accent) {
    const label = textColorOn(theme.accent);
    lines.push(line(`Accent labels: ${label} on ${theme.accent} — ${formatRatio(contrastRatio(label, theme.accent))}:1 ✓ (chosen automatically)`));
  }
  return lines;
}

function update() {
  const theme = current();
  for (const [name, value] of Object.entries(variables(theme))) preview.style.setProperty(name, value);
  preview.style.colorScheme = theme.mode;
  report.replaceChildren(...contrastLines(theme));
}

// --- Wiring --------------------------------------------------------------------------------------
for (const picker of form.querySelectorAll("input[type=color][data-color-for]")) {
  const text = document.getElementById(picker.dataset.colorFor);
  picker.hidden = false;
  const sync = () => {
    const value = text.value.trim().toLowerCase();
    if (HEX.test(value)) picker.value = value;
  };
  sync();
  picker.addEventListener("input", () => { text.value = picker.value; update(); });
  text.addEventListener("input", () => { sync(); update(); });
  text.addEventListener("change", sync);
}

// With this script running the form always holds the whole theme (see themes/views.py _changes).
field("complete").value = "1";
field("preset").addEventListener("change", (event) => {
  const preset = config.presets[event.target.value];
  if (!preset) return;
  field("primary_color").value = preset.primary_color;
  field("accent_color").value = preset.accent_color;
  field("font").value = preset.font;
  setRadio("mode", preset.mode);
  setRadio("corners", preset.corners);
  for (const name of ["primary_color", "accent_color"]) field(name).dispatchEvent(new Event("change"));
  update();
});
for (const name of ["font", "mode", "corners"]) {
  form.querySelectorAll(`[name="${name}"]`).forEach((input) => input.addEventListener("change", update));
}

const logo = document.getElementById("preview-logo");
let logoUrl = null;
field("logo").addEventListener("change", (event) => {
  const [file] = event.target.files;
  if (logoUrl) URL.revokeObjectURL(logoUrl);
  logoUrl = file ? URL.createObjectURL(file) : null;
  if (logoUrl) { logo.src = logoUrl; logo.hidden = false; }
});
const removeLogo = field("remove_logo");
if (removeLogo) removeLogo.addEventListener("change", () => { logo.hidden = removeLogo.checked && !logoUrl; });

const poweredBy = field("show_powered_by");
const foot = document.getElementById("preview-powered-by");
poweredBy.addEventListener("change", () => { foot.hidden = !poweredBy.checked; });

update();
