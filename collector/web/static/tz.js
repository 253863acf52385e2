// Pantau: without a tz parameter, show this page in the browser's time zone (the page is
// in UTC without this script). Loaded from the collector itself (script-src 'self').
(function () {
  var u = new URL(location.href);
  if (u.searchParams.has("tz")) return;
  var z = "";
  try { z = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!z || z === "UTC" || z === "Etc/UTC") return;
  u.searchParams.set("tz", z);
  location.replace(u.toString());
})();
