/* geo-grid plans list (/plans, geo_grid/pages/plans.py): start a plan and open its workspace.
 *
 * The form posts {layer, note} to the plans API (POST /api/v1/plans, ?district= when the account
 * has several) with X-Requested-With: geo-grid (the API's CSRF guard for the session cookie),
 * then opens /plans/{id}. Everything a person reads is Chinese; the API's own words are kept
 * under 技术信息.
 */
(function (global) {
  "use strict";
  var doc = global.document;
  var island = doc.getElementById("gg-data");
  var data = island ? JSON.parse(island.textContent || "{}") : {};
  var form = doc.getElementById("gg-create");
  if (!form) return;
  var msg = doc.getElementById("gg-create-msg");
  var gg = global.geoGrid;  // geo_grid_map.js, loaded first: the JSON API and the status line

  /* This page's words for a status (401, 429 and 503: geoGrid.apiError's, as on every page). */
  var STATUS_TEXT = {
    403: "您无权新建调整方案。",
    404: "这个图层在本区还没有发布的网格，无法据此新建方案。",
    409: "这个图层正在发布，请稍后再试。"
  };

  function failure(status, body) { return gg.apiError(status, body, STATUS_TEXT); }

  function say(text, kind, detail) { gg.say(msg, text, kind, detail); }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var note = form.elements.note.value.trim();
    var url = data.createUrl;
    if (form.elements.district) url += "?district=" + encodeURIComponent(form.elements.district.value);
    button.disabled = true;
    say("正在复制现行网格，新建方案…");
    gg.requestJSON(url, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({layer: form.elements.layer.value, note: note || null})}, failure)
      .then(function (plan) {
        say("已新建方案 " + plan.id + "（" + plan.grids + " 个网格），正在打开…", "ok");
        global.location.assign(data.planUrl.replace("{id}", plan.id));
      })
      .catch(function (err) {
        button.disabled = false;
        say(err.message || "新建没有成功。", "error", err.detail || "");
      });
  });
})(window);
