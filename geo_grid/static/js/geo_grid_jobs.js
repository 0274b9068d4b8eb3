/* geo-grid long work from a page: start it, show the job's progress, then go on.
 *
 * Routes that start long work (a stored layer's check, a merge, a plan's accept-all) answer
 * 202 with the job and Location: /api/v1/jobs/{id}. geoGridJobs.run(url, body, onProgress)
 * posts the body, then polls the Location about once a second, calling onProgress(text, job)
 * with a Chinese line (覆盖检查：执行中 45%（查找缝隙）); it resolves with the finished job
 * (status done: job.result is the work's answer) and rejects with an Error whose message is
 * Chinese. A route that answered at once (200) resolves with {status: "done", result: body}.
 * geoGridJobs.button(map, {label, url, body, title}) puts a button and its progress line on the
 * map, and reloads the page once the job is done. geoGridJobs.fileButton(button, line, url,
 * refused) makes a file by a job (the spreadsheet exports: url's query is the job's arguments):
 * a click posts to url, writes the progress into line, then downloads /api/v1/jobs/{id}/file
 * (the server names the file); refused maps a status to this button's own Chinese words.
 */
(function (global) {
  "use strict";
  var STATUS = {queued: "排队中", running: "执行中", done: "已完成", failed: "失败"};
  var REFUSED = {401: "登录已过期，请重新登录", 403: "无权执行此操作（需要规划员或管理员）",
    404: "未找到要处理的对象", 409: "与当前状态冲突，请刷新后再试", 413: "提交的内容过大"};

  function call(method, url, body, refused) {
    // X-Requested-With: the API accepts the session cookie on writes only with it (no CSRF)
    var init = {method: method, credentials: "same-origin",
      headers: {Accept: "application/json", "X-Requested-With": "geo-grid"}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) {
          var detail = data && data.error && data.error.message;
          var words = (refused && refused[r.status]) || REFUSED[r.status];
          throw new Error(words || ("请求失败（" + (detail || "HTTP " + r.status) + "）"));
        }
        return {status: r.status, location: r.headers.get("Location"), data: data};
      });
    });
  }

  function describe(job) {
    var pct = Math.round((job.progress || 0) * 100);
    var text = (job.title || "任务") + "：" + (STATUS[job.status] || job.status);
    if (job.status === "running" || job.status === "queued") text += " " + pct + "%";
    // a queued job's message is its state again (排队中): said once
    if (job.message && job.status !== "failed" && job.message !== STATUS[job.status]) {
      text += "（" + job.message + "）";
    }
    if (job.status === "failed" && job.error) text += "（" + job.error.message + "）";
    return text;
  }

  function follow(location, onProgress, everyMs) {
    return new Promise(function (resolve, reject) {
      function poll() {
        call("GET", location).then(function (answer) {
          var job = answer.data;
          if (onProgress) onProgress(describe(job), job);
          if (job.status === "done") resolve(job);
          else if (job.status === "failed") reject(new Error(describe(job)));
          else global.setTimeout(poll, everyMs || 1000);
        }).catch(reject);
      }
      poll();
    });
  }

  function run(url, body, onProgress, refused) {
    return call("POST", url, body === undefined ? {} : body, refused).then(function (answer) {
      if (answer.status !== 202) return {status: "done", result: answer.data};
      if (onProgress) onProgress(describe(answer.data), answer.data);
      return follow(answer.location || "/api/v1/jobs/" + answer.data.id, onProgress);
    });
  }

  function button(map, opts) {
    var box = L.control({position: opts.position || "topright"});
    box.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-info gg-job");
      var btn = L.DomUtil.create("button", "gg-job-start", div);
      btn.type = "button";
      btn.textContent = opts.label;
      if (opts.title) btn.title = opts.title;
      var line = L.DomUtil.create("div", "gg-job-msg", div);
      L.DomEvent.disableClickPropagation(div);
      btn.addEventListener("click", function () {
        btn.disabled = true;
        line.textContent = "提交中…";
        run(opts.url, opts.body, function (text) { line.textContent = text; }).then(function () {
          line.textContent = "已完成，正在刷新…";
          global.location.reload();
        }).catch(function (err) {
          line.textContent = err.message;
          btn.disabled = false;
        });
      });
      return div;
    };
    box.addTo(map);
    return box;
  }

  /* The file a done job wrote, downloaded: a link to it clicked (the answer says attachment
   * and names the file). Its URL is beside the route that started the job (same API base). */
  function download(url, job) {
    var a = global.document.createElement("a");
    a.href = url.replace(/\/api\/v1\/.*$/, "") + "/api/v1/jobs/" + job.id + "/file";
    a.download = "";
    a.hidden = true;
    global.document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function fileButton(btn, line, url, refused) {
    btn.addEventListener("click", function (ev) {
      ev.preventDefault();
      if (btn.disabled) return;
      btn.disabled = true;
      line.hidden = false;
      line.textContent = "提交中…";
      run(url, {}, function (text) { line.textContent = text; }, refused).then(function (job) {
        line.textContent = (job.title || "任务") + "：已完成，正在下载…";
        download(url, job);
      }).catch(function (err) {
        line.textContent = err.message;
      }).then(function () { btn.disabled = false; });
    });
  }

  global.geoGridJobs = {run: run, follow: follow, button: button, describe: describe,
    fileButton: fileButton};
})(window);
