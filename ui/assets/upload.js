// Progressive enhancement of the SIP upload form: a progress bar while the file is sent.
// Without JavaScript the form posts as usual; the server's answer is the same page either way.
(function () {
  "use strict";
  var form = document.getElementById("sip-upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = document.getElementById("sip-progress");
  var label = document.getElementById("sip-progress-label");
  var limit = Number(form.getAttribute("data-max-bytes") || "0");
  form.addEventListener("submit", function (event) {
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (!file) { return; }
    if (limit > 0 && file.size > limit) {
      // The server refuses it too; saying so now spares sending it.
      event.preventDefault();
      label.textContent = form.getAttribute("data-too-large");
      label.parentNode.hidden = false;
      return;
    }
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      bar.max = e.total;
      bar.value = e.loaded;
      label.textContent = Math.floor((100 * e.loaded) / e.total) + " %";
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
        window.location.assign(xhr.responseURL);
      } else {
        document.open();
        document.write(xhr.responseText);
        document.close();
      }
    });
    xhr.addEventListener("error", function () {
      label.textContent = form.getAttribute("data-failed");
    });
    bar.parentNode.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
    xhr.send(new FormData(form));
  });
})();
