/* Portal enhancements; every page works without them.
   File fields: drop files on the zone, see the chosen files, and get the server's limits
   (data-max-bytes, data-max-files, accept) checked before sending, so a refused file never
   costs the rest of the form. */
(function () {
  "use strict";

  function formatSize(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
    return bytes + " B";
  }

  function problems(input) {
    var maxBytes = parseInt(input.dataset.maxBytes || "0", 10);
    var maxFiles = parseInt(input.dataset.maxFiles || "0", 10);
    var allowed = (input.getAttribute("accept") || "").toLowerCase().split(",").filter(Boolean);
    var texts = (input.closest("[data-messages]") || document.body).dataset;
    var out = [];
    var files = Array.prototype.slice.call(input.files || []);
    if (maxFiles && files.length > maxFiles) {
      out.push((texts.msgTooMany || "Too many files (at most %n).").replace("%n", maxFiles));
    }
    files.forEach(function (file) {
      var dot = file.name.lastIndexOf(".");
      var ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
      if (allowed.length && allowed.indexOf(ext) < 0) {
        out.push((texts.msgType || "%f: this type of file is not accepted.").replace("%f", file.name));
      } else if (maxBytes && file.size > maxBytes) {
        out.push((texts.msgSize || "%f is too large (limit %l).")
          .replace("%f", file.name).replace("%l", formatSize(maxBytes)));
      } else if (file.size === 0) {
        out.push((texts.msgEmpty || "%f is empty.").replace("%f", file.name));
      }
    });
    return out;
  }

  function refresh(zone, input) {
    var list = zone.querySelector(".chosen-files");
    var error = zone.parentNode.querySelector(".client-error");
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " · " + formatSize(file.size);
      list.appendChild(item);
    });
    var found = problems(input);
    error.textContent = found.join(" ");
    error.hidden = found.length === 0;
    zone.classList.toggle("invalid", found.length > 0);
    return found.length === 0;
  }

  function setUp(zone) {
    var input = zone.querySelector("input[type=file]");
    if (!input) return;
    input.addEventListener("change", function () { refresh(zone, input); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      var merged = new DataTransfer();
      Array.prototype.forEach.call(input.files || [], function (f) { merged.items.add(f); });
      Array.prototype.forEach.call(event.dataTransfer.files, function (f) { merged.items.add(f); });
      input.files = merged.files;
      refresh(zone, input);
    });
    var form = input.form;
    if (form) {
      form.addEventListener("submit", function (event) {
        if (!refresh(zone, input)) {
          event.preventDefault();
          input.focus();
        } else if (input.files && input.files.length && !form.checkValidity()) {
          // A server round trip would drop the chosen files: point at the missing field now.
          event.preventDefault();
          form.reportValidity();
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-dropzone]"), setUp);
  });
})();
