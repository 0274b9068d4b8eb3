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

  var STATUS_TEXT = {
    401: "登录已失效，请重新登录后再试。",
    403: "您无权新建调整方案。",
    404: "这个图层在本区还没有发布的网格，无法据此新建方案。",
    409: "这个图层正在发布，请稍后再试。",
    503: "系统暂时无法访问数据库，请稍后再试。"
  };

  function say(text, kind, detail) {
    msg.className = "gg-msg" + (kind ? " gg-" + kind : "");
    msg.textContent = text;
    if (detail) {
      var d = doc.createElement("details"), s = doc.createElement("summary"), c = doc.createElement("code");
      s.textContent = "技术信息";
      c.textContent = detail;
      d.appendChild(s);
      d.appendChild(c);
      msg.appendChild(d);
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var note = form.elements.note.value.trim();
    var url = data.createUrl;
    if (form.elements.district) url += "?district=" + encodeURIComponent(form.elements.district.value);
    button.disabled = true;
    say("正在复制现行网格，新建方案…");
    global.fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-Requested-With": "geo-grid"},
      body: JSON.stringify({layer: form.elements.layer.value, note: note || null})})
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (!r.ok) {
            var err = (body && body.error) || {};
            var e = new Error(STATUS_TEXT[r.status] || "新建没有成功（错误 " + r.status + "），请检查后再试。");
            e.detail = err.message;
            throw e;
          }
          return body;
        });
      })
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
