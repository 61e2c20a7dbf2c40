// Prefill empty or default time-zone fields with the browser's zone.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  document.querySelectorAll("select[name=time_zone], input[name=time_zone], input[name=owner_time_zone]").forEach(function (field) {
    var isDefault = !field.value || field.value === "UTC";
    if (!isDefault) { return; }
    if (field.tagName === "SELECT" && !field.querySelector('option[value="' + zone + '"]')) { return; }
    field.value = zone;
  });
})();
