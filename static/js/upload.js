// Uploads with a progress bar: forms marked data-upload are sent with XMLHttpRequest,
// so large files show how far they are. Without JavaScript the form posts normally.
(function () {
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var bar = form.querySelector("progress");
      var errors = form.querySelector("[data-errors]");
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.hidden = false; bar.value = Math.round((e.loaded / e.total) * 100); }
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = {ok: false, errors: {"": ["The upload failed (" + xhr.status + ")."]}}; }
        if (data.ok) { window.location.href = data.redirect; return; }
        bar.hidden = true;
        var messages = [];
        Object.keys(data.errors || {}).forEach(function (k) { messages = messages.concat(data.errors[k]); });
        errors.textContent = messages.join(" ");
      });
      xhr.addEventListener("error", function () { button.disabled = false; errors.textContent = "The upload failed; check your connection."; });
      errors.textContent = "";
      button.disabled = true;
      bar.hidden = false; bar.value = 0;
      xhr.send(new FormData(form));
    });
  });
})();
