// Live classes: the teacher's dashboard and a student's phone, as clients of /api/classes and
// /stream/classes/{code}. Tokens travel as Bearer headers and stay in this browser (the
// teacher's in sessionStorage, a student's in localStorage so a phone that reloads stays in).
// Nothing computes simulation state here: questions, truths, counts and judgements all come
// from the server. Everything received is shown with textContent, never as markup.
(function () {
  "use strict";
  const root = document.getElementById("live");
  if (!root) return;
  const code = root.dataset.code;
  const role = root.dataset.role;
  const api = "/api/classes/" + code;
  const $ = (id) => document.getElementById(id);
  const status = $("live-status");

  function say(text) { if (status) status.textContent = text; }

  async function call(method, path, token, body) {
    const headers = { "Accept": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(api + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (error) { data = null; }
    }
    return { ok: response.ok, status: response.status, data };
  }

  function detail(result) {
    const d = result.data && result.data.detail;
    if (Array.isArray(d)) return d.map((e) => e.msg).join("; ");
    return d || "the server answered " + result.status;
  }

  function clear(element) { while (element.firstChild) element.removeChild(element.firstChild); }

  // The stage: an iframe of the permalink in its embed layout (/sim and /challenges/... both
  // have one): no site header in the frame, and a link that leaves it opens a new tab, so the
  // class page, its stream and its question stay where they are.
  function frameUrl(url) {
    if (!url) return "about:blank";
    return url + (url.includes("?") ? "&" : "?") + "embed=1";
  }

  // Whether the frame shows the class's state (ignoring the layout flag and parameter order).
  function sameView(frameLocation, url) {
    if (!url) return true;
    const a = new URL(frameLocation.href), b = new URL(url, window.location.href);
    if (a.pathname !== b.pathname) return false;
    a.searchParams.delete("embed"); b.searchParams.delete("embed");
    a.searchParams.sort(); b.searchParams.sort();
    return a.searchParams.toString() === b.searchParams.toString();
  }

  function renderHistogram(list, question, counts, correct) {
    clear(list);
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    for (const choice of question.choices) {
      const n = counts[choice.token] || 0;
      const item = document.createElement("li");
      if (correct === choice.token) item.classList.add("correct");
      const label = document.createElement("span");
      label.className = "bar-label";
      label.textContent = choice.label + (correct === choice.token ? " ✓ right" : "");
      const bar = document.createElement("progress");
      bar.max = Math.max(total, 1);
      bar.value = n;
      bar.setAttribute("aria-label", choice.label);
      const count = document.createElement("span");
      count.className = "bar-count";
      count.textContent = String(n);
      item.append(label, bar, count);
      list.append(item);
    }
  }

  function renderTop(list, top) {
    clear(list);
    list.hidden = !top || top.length === 0;
    for (const entry of top || []) {
      const item = document.createElement("li");
      item.textContent = entry.name + " · " + entry.right + "/" + entry.answered;
      list.append(item);
    }
  }

  function connect(handlers) {
    const source = new EventSource("/stream/classes/" + code);
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handle(JSON.parse(event.data || "{}")));
    }
    source.addEventListener("ended", () => {
      source.close();
      say("The class has ended.");
      root.classList.add("ended");
      if (handlers.onEnded) handlers.onEnded();
    });
    source.onerror = () => say("Reconnecting to the class…");
    source.onopen = () => say("");
    return source;
  }

  if (role === "teacher") teacher(); else student();

  function teacher() {
    const key = "gillab-teacher-" + code;
    const match = /[#&]token=([^&]+)/.exec(window.location.hash);
    if (match) {
      sessionStorage.setItem(key, decodeURIComponent(match[1]));
      // Out of the address bar before anyone projects it.
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    const token = sessionStorage.getItem(key);
    if (!token) { $("no-token").hidden = false; }
    const frame = $("stage-frame");
    let state = { url: null };
    let question = null;
    let polling = null;
    let challengePolling = null;

    async function act(method, path, body) {
      const result = await call(method, path, token, body);
      if (!result.ok) say("Refused: " + detail(result));
      return result;
    }

    function show(url) { return act("PUT", "/state", { url }); }

    function step(delta) {
      if (!state.url || state.steps === null) return;
      const next = new URL(state.url, window.location.href);
      const target = Math.min(Math.max(state.step + delta, 0), state.steps);
      next.searchParams.set("step", String(target));
      show(next.pathname + next.search);
    }

    $("step-back").addEventListener("click", () => step(-1));
    $("step-forward").addEventListener("click", () => step(1));
    $("send-frame").addEventListener("click", () => {
      const where = frame.contentWindow.location;
      show(where.pathname + where.search);
    });
    for (const button of document.querySelectorAll("[data-show]")) {
      button.addEventListener("click", () => show(button.dataset.show));
    }
    $("show-form").addEventListener("submit", (event) => {
      event.preventDefault();
      show($("show-url").value);
    });
    $("assign-form").addEventListener("submit", (event) => {
      event.preventDefault();
      show("/challenges/" + $("assign-slug").value);
    });
    $("ask").addEventListener("click", () => act("POST", "/questions"));
    $("close-question").addEventListener("click", () => {
      if (question) act("POST", "/questions/" + question.id + "/close");
    });
    $("reveal").addEventListener("click", () => {
      if (question) act("POST", "/questions/" + question.id + "/reveal");
    });
    $("show-top").addEventListener("change", (event) => {
      act("PUT", "/top", { show: event.target.checked });
    });
    // "Open this dashboard at this computer's address": the key goes along, in the fragment,
    // only when the link is followed (never in the projected page).
    for (const link of root.querySelectorAll("a[data-carry-token]")) {
      link.addEventListener("click", (event) => {
        if (!token) return;
        event.preventDefault();
        window.location.href = link.href + "#token=" + encodeURIComponent(token);
      });
    }
    $("copy-teacher").addEventListener("click", async () => {
      // At the public address when the server vouches for one (another device may not reach
      // the address this browser uses, such as localhost).
      const base = $("copy-teacher").dataset.link || window.location.origin + window.location.pathname;
      const link = base + "#token=" + token;
      try { await navigator.clipboard.writeText(link); say("Teacher link copied: keep it secret."); }
      catch (error) { window.prompt("Your teacher link (keep it secret):", link); }
    });
    $("end-class").addEventListener("click", async () => {
      if (!window.confirm("End the class for everyone and delete its answers?")) return;
      const result = await act("DELETE", "");
      if (result.ok) sessionStorage.removeItem(key);
    });

    async function refreshCounts() {
      if (!question) return;
      const result = await call("GET", "/questions/" + question.id, token);
      if (!result.ok) return;
      const r = result.data;
      $("question-answered").textContent = String(r.answered);
      $("question-members").textContent = String(r.members);
      renderHistogram($("histogram"), question, r.counts || {}, r.correct);
    }

    function setPolling(on) {
      if (on && !polling) polling = setInterval(refreshCounts, 400);
      if (!on && polling) { clearInterval(polling); polling = null; }
    }

    // The roster: fetched at most once a second however fast students join.
    let rosterDue = null;
    function refreshRoster() {
      if (rosterDue) return;
      rosterDue = setTimeout(async () => {
        rosterDue = null;
        const result = await call("GET", "/members", token);
        if (!result.ok) return;
        const list = $("roster");
        clear(list);
        for (const member of result.data) {
          const item = document.createElement("li");
          const name = document.createElement("span");
          name.textContent = member.name + " · " + member.right + "/" + member.answered;
          const remove = document.createElement("button");
          remove.type = "button";
          remove.className = "link-button";
          remove.textContent = "Remove";
          remove.setAttribute("aria-label", "Remove " + member.name);
          remove.addEventListener("click", () => act("DELETE", "/members/" + member.student_id));
          item.append(name, " ", remove);
          list.append(item);
        }
      }, 1000);
    }

    async function refreshChallenge() {
      const result = await call("GET", "/challenge", token);
      if (!result.ok) return;
      const r = result.data;
      $("challenge-solved").textContent = String(r.solved);
      $("challenge-handed").textContent = String(r.handed_in);
      $("challenge-members").textContent = String(r.members);
      const list = $("challenge-outcomes");
      clear(list);
      for (const o of r.outcomes) {
        const item = document.createElement("li");
        const parts = ["rc = " + o.final_rc, o.freed ? "freed" : "not freed"];
        if (o.use_after_free) parts.push("use after free");
        if (o.double_free) parts.push("double free");
        item.textContent = o.count + " × " + parts.join(", ") + (o.solved ? " (solves it)" : "");
        list.append(item);
      }
    }

    connect({
      state(data) {
        state = data;
        $("stage-title").textContent = data.title || "nothing yet";
        $("stage-step").textContent = data.steps === null || data.url === null
          ? "" : "step " + data.step + " of " + data.steps;
        const isSim = data.url !== null && data.steps !== null;
        $("step-back").disabled = !isSim || data.step <= 0;
        $("step-forward").disabled = !isSim || data.step >= data.steps;
        $("ask").disabled = !isSim || data.step >= data.steps;
        $("send-frame").disabled = false;
        if (!frame.contentWindow || !sameView(frame.contentWindow.location, data.url)) {
          frame.src = frameUrl(data.url);
        }
        $("challenge-panel").hidden = !data.challenge;
        if (challengePolling) { clearInterval(challengePolling); challengePolling = null; }
        if (data.challenge) {
          refreshChallenge();
          challengePolling = setInterval(refreshChallenge, 2000);
        }
      },
      members(data) {
        $("members-count").textContent = String(data.members);
        refreshRoster();
      },
      question(data) {
        question = data;
        $("question").hidden = false;
        $("question-prompt").textContent = "Step " + data.step + ": " + data.prompt;
        $("question-state").textContent = data.revealed ? "revealed" : data.open ? "open" : "closed";
        $("close-question").disabled = !data.open;
        $("reveal").disabled = data.revealed;
        setPolling(data.open);
        refreshCounts();
      },
      reveal(data) {
        if (!question || question.id !== data.id) return;
        question.revealed = true;
        $("question-state").textContent = "revealed";
        $("reveal").disabled = true;
        $("close-question").disabled = true;
        setPolling(false);
        $("question-answered").textContent = String(data.answered);
        renderHistogram($("histogram"), question, data.counts, data.correct);
        renderTop($("top"), data.top);
      },
      onEnded() {
        setPolling(false);
        for (const button of root.querySelectorAll("button")) button.disabled = true;
      },
    });
  }

  function student() {
    const key = "gillab-student-" + code;
    const frame = $("stage-frame");
    // The frame as tall as the stage it shows (the embed page posts its height, static/js/
    // embed.js): a phone scrolls the page, never a box inside it. Only this site's page in
    // this frame is listened to.
    window.addEventListener("message", (event) => {
      if (event.origin !== window.location.origin || event.source !== frame.contentWindow) return;
      const data = event.data;
      if (!data || data.type !== "gil-lab:height" || typeof data.height !== "number") return;
      const border = frame.offsetHeight - frame.clientHeight;  // box-sizing: border-box
      frame.style.height = Math.ceil(data.height) + border + "px";
    });
    let me = JSON.parse(localStorage.getItem(key) || "null");
    let state = { url: null };
    let following = true;
    let question = null;
    let latest = null;  // the class's latest question, kept for a student who joins after it
    let mine = null;

    function showClass() {
      $("join-panel").hidden = true;
      $("class-view").hidden = false;
      $("my-name").textContent = me.name;
      refreshScore();
    }

    async function refreshScore() {
      const result = await call("GET", "/me", me.token);
      if (result.status === 403) { forget(); return; }
      if (result.ok) $("my-score").textContent = result.data.right + "/" + result.data.answered;
    }

    function forget() {
      localStorage.removeItem(key);
      me = null;
      $("class-view").hidden = true;
      $("join-panel").hidden = false;
    }

    $("join-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = $("join-name").value;
      const result = await call("POST", "/join", null, { name });
      if (!result.ok) { $("join-error").textContent = detail(result); return; }
      me = { name: name.trim().replace(/\s+/g, " "), token: result.data.student_token };
      localStorage.setItem(key, JSON.stringify(me));
      $("join-error").textContent = "";
      showClass();
      if (latest) showQuestion(latest);
    });

    function follow() {
      following = true;
      $("wander").hidden = true;
      frame.src = frameUrl(state.url);
    }

    $("back-to-class").addEventListener("click", follow);

    // Wandering: the student stepped or navigated inside the frame on their own.
    function checkWander() {
      if (!state.url || !frame.contentWindow) return;
      let here;
      try { here = frame.contentWindow.location; } catch (error) { return; }
      if (here.href === "about:blank") return;
      // An assigned challenge is played on one's own: its steps are not wandering off (and
      // "back to the class" would throw the run away); another page is.
      const playing = state.challenge !== null && state.challenge !== undefined &&
        here.pathname === new URL(state.url, window.location.href).pathname;
      following = playing || sameView(here, state.url);
      $("wander").hidden = following;
    }
    frame.addEventListener("load", () => {
      checkWander();
      try {
        frame.contentDocument.addEventListener("htmx:afterSettle", checkWander);
        frame.contentDocument.addEventListener("htmx:pushedIntoHistory", checkWander);
      } catch (error) { /* not this site's page */ }
    });

    $("hand-in").addEventListener("click", async () => {
      let schedule = "";
      try {
        const play = frame.contentDocument.getElementById("play");
        schedule = play ? play.dataset.schedule || "" : "";
      } catch (error) { schedule = ""; }
      const result = await call("PUT", "/challenge/run", me.token, { schedule });
      $("hand-in-result").textContent = result.ok
        ? (result.data.solved ? "Solved! Handed in " : "Not solved: handed in ") + result.data.schedule
        : "Not handed in: " + detail(result);
    });

    function renderChoices() {
      const box = $("choices");
      clear(box);
      for (const choice of question.choices) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "choice";
        button.textContent = choice.label;
        button.setAttribute("aria-pressed", String(mine === choice.token));
        button.disabled = !question.open;
        button.addEventListener("click", () => answer(choice));
        box.append(button);
      }
    }

    async function answer(choice) {
      const result = await call("PUT", "/questions/" + question.id + "/answer", me.token,
        { choice: choice.token });
      if (result.ok) {
        mine = choice.token;
        $("question-note").textContent = "Your answer: " + choice.label +
          ". You can change it until the teacher closes the question.";
        renderChoices();
      } else if (result.status === 403) {
        forget();  // the teacher took this name out of the class
        $("join-error").textContent = "You are no longer in the class; join again with another name.";
      } else {
        $("question-note").textContent = "Not counted: " + detail(result);
      }
    }

    async function showReveal(data) {
      const result = await call("GET", "/questions/" + data.id, me.token);
      const mineResult = result.ok ? result.data.mine : null;
      const right = question.choices.find((c) => c.token === data.correct);
      let note = "The answer: " + (right ? right.label : data.correct) + ". ";
      if (!mineResult || mineResult.choice === null) note += "You did not answer.";
      else note += mineResult.right ? "You were right!" : "Not this time.";
      $("question-note").textContent = note;
      say(note);
      $("histogram").hidden = false;
      renderHistogram($("histogram"), question, data.counts, data.correct);
      renderTop($("top"), data.top);
      refreshScore();
    }

    function showQuestion(data) {
      const isNew = !question || question.id !== data.id;
      if (isNew) {
        mine = null;
        $("question-note").textContent = data.open ? "Pick one." : "";
        $("histogram").hidden = true;
        $("top").hidden = true;
        if (data.open) say("A new question: " + data.prompt);
      }
      question = data;
      $("question").hidden = false;
      $("question-prompt").textContent = "Step " + data.step + ": " + data.prompt;
      if (!data.open && !data.revealed && !isNew) {
        $("question-note").textContent = "Answers are closed. Wait for the reveal.";
      }
      renderChoices();
      if (data.open && isNew) {  // a phone that reloads keeps the answer it gave
        call("GET", "/questions/" + data.id, me.token).then((r) => {
          if (r.ok && r.data.mine && r.data.mine.choice && question.id === data.id) {
            mine = r.data.mine.choice;
            renderChoices();
          }
        });
      }
      if (data.revealed && isNew) {
        call("GET", "/questions/" + data.id, me.token).then((r) => {
          if (r.ok) {
            showReveal({ id: data.id, correct: r.data.correct, counts: r.data.counts || {}, top: null });
          }
        });
      }
    }

    if (me) showClass();

    connect({
      state(data) {
        // The same challenge again (a stream that reconnects sends the state anew): the run
        // played so far stays, and so does its hand-in note.
        const sameChallenge = data.challenge && data.url === state.url;
        state = data;
        $("stage-title").textContent = data.title || "Waiting for the teacher…";
        $("stage-step").textContent = data.steps === null || data.url === null
          ? "" : "· step " + data.step + " of " + data.steps;
        $("class-step").textContent = data.title ? data.title + ", step " + data.step : "";
        $("hand-in-panel").hidden = !data.challenge;
        if (data.challenge && !sameChallenge) $("hand-in-result").textContent = "";
        // The class moved on: a question that is over leaves the screen to the run.
        if (question && !question.open && question.url !== data.url) $("question").hidden = true;
        if (following && !sameChallenge) follow();
      },
      question(data) {
        latest = data;
        if (me) showQuestion(data);
      },
      reveal(data) {
        if (!me || !question || question.id !== data.id) return;
        question.open = false;
        question.revealed = true;
        renderChoices();
        showReveal(data);
      },
      members() {},
      onEnded() {
        localStorage.removeItem(key);
        $("question").hidden = true;
        $("stage-title").textContent = "The class has ended. Thank you!";
      },
    });
  }
})();
