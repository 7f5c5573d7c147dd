"""The page's look: a theme with local fonts only, the CSS for answers and source cards, and a little JS."""

from __future__ import annotations

# System fonts only: the page must not reach out to a web font service (offline first).
FONTS = [
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "system-ui",
    "sans-serif",
]
MONO_FONTS = ["SFMono-Regular", "Consolas", "Noto Sans Mono CJK SC", "monospace"]


def make_theme():
    """A calm blue theme built from local fonts."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="blue", secondary_hue="sky", neutral_hue="slate", font=FONTS, font_mono=MONO_FONTS
    )


CSS = """
.gradio-container { width: 100% !important; max-width: 1280px !important; margin: 0 auto !important; }
#rag-header { padding: 8px 4px 0; }
#rag-header h1 { font-size: 1.6rem; font-weight: 700; margin: 0 0 4px; display: flex; align-items: center; gap: 10px; }
#rag-header p { margin: 0; color: var(--body-text-color-subdued); }
.rag-badge { font-size: 0.75rem; font-weight: 500; color: var(--color-accent); background: var(--color-accent-soft);
             border-radius: 999px; padding: 2px 10px; }
#rag-index-summary { font-size: 0.88rem; color: var(--body-text-color-subdued); }
#rag-status { font-size: 0.92rem; }
#rag-status::before { content: "本次回答"; display: inline-block; margin-bottom: 6px;
                      font-size: var(--block-label-text-size); font-weight: var(--block-label-text-weight);
                      color: var(--block-label-text-color);
                      background: var(--block-label-background-fill); border-radius: var(--block-label-radius);
                      padding: var(--block-label-padding); }
#rag-delete-row { align-items: flex-end; }
#rag-delete { height: 42px; margin-bottom: 10px; color: #b91c1c; border-color: #fecaca; }
#rag-delete:hover, #rag-delete-yes:hover { background: #fef2f2; }
#rag-delete-yes { color: #b91c1c; border-color: #fecaca; }
#rag-backend-note { font-size: 0.85rem; color: var(--body-text-color-subdued); padding: 0 4px; }

/* the empty chat: a greeting and example questions as cards */
#rag-chat .placeholder-content { padding: 8px 24px; }
#rag-chat .placeholder { justify-content: flex-start; padding: 12px 16px 0; }
#rag-chat .examples { gap: 12px; }
#rag-chat button.example { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 12px 14px;
                           background: var(--background-fill-secondary); text-align: left; transition: all 0.15s; }
#rag-chat button.example:hover { border-color: var(--color-accent); background: var(--color-accent-soft); }

/* an answer and what backs it */
.rag-cite { color: var(--color-accent) !important; text-decoration: none !important; font-weight: 600;
            font-size: 0.85em; padding: 0 1px; border-radius: 4px; cursor: pointer; }
.rag-cite:hover { background: var(--color-accent-soft); }
.rag-sources { margin-top: 12px; padding-top: 8px; border-top: 1px dashed var(--border-color-primary); }
.rag-sources-title { font-size: 0.82rem; color: var(--body-text-color-subdued); margin-bottom: 4px; }
details.rag-source { border: 1px solid var(--border-color-primary); border-radius: 10px; margin: 6px 0;
                     background: var(--background-fill-secondary); overflow: hidden; }
details.rag-source > summary { list-style: none; cursor: pointer; padding: 8px 12px; }
details.rag-source > summary::-webkit-details-marker { display: none; }
details.rag-source[open] > summary { border-bottom: 1px solid var(--border-color-primary); }
.rag-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.rag-head::after { content: "展开原文"; margin-left: auto; font-size: 0.78rem; color: var(--color-accent); }
details[open] .rag-head::after { content: "收起"; }
.rag-marker { background: var(--color-accent); color: white; border-radius: 6px; padding: 0 6px;
              font-size: 0.78rem; font-weight: 600; line-height: 1.6; }
.rag-file { font-weight: 600; font-size: 0.88rem; word-break: break-all; }
.rag-rank { font-size: 0.76rem; color: var(--body-text-color-subdued); background: var(--background-fill-primary);
             border: 1px solid var(--border-color-primary); border-radius: 999px; padding: 0 8px; }
.rag-quote { display: block; margin-top: 6px; padding-left: 10px; border-left: 3px solid #f5c542;
             font-size: 0.9rem; line-height: 1.65; }
details[open] .rag-quote { display: none; }
.rag-passage { padding: 10px 14px; font-size: 0.9rem; line-height: 1.8; max-height: 320px; overflow-y: auto; }
.rag-passage mark { background: #fde68a; color: #1f2937; padding: 1px 2px; border-radius: 3px; }
.rag-meta { margin-top: 8px; font-size: 0.76rem; color: var(--body-text-color-subdued); }
.rag-note { margin-top: 8px; font-size: 0.85rem; padding: 6px 10px; border-radius: 8px;
            border-left: 3px solid #f59e0b; background: var(--background-fill-secondary); }
.rag-error { padding: 8px 12px; border-radius: 8px; background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; }
.rag-waiting, .rag-stopped { color: var(--body-text-color-subdued); }
.rag-cursor { display: inline-block; width: 0.5em; height: 1em; margin-left: 2px; vertical-align: text-bottom;
              background: var(--color-accent); animation: rag-blink 1s steps(2, start) infinite; }
@keyframes rag-blink { to { visibility: hidden; } }
details.rag-flash { animation: rag-flash 1.6s ease-out; }
@keyframes rag-flash { from { box-shadow: 0 0 0 3px var(--color-accent); } to { box-shadow: 0 0 0 0 transparent; } }

/* documents tab */
.rag-outcome { margin: 4px 0; line-height: 1.7; }
.rag-tag { display: inline-block; font-size: 0.78rem; font-weight: 600; border-radius: 6px; padding: 0 8px;
           margin-right: 8px; }
.rag-ok { background: #dcfce7; color: #166534; }
.rag-bad { background: #fee2e2; color: #991b1b; }
.rag-same { background: var(--background-fill-secondary); color: var(--body-text-color-subdued); }

/* Gradio titles its toasts with the English level name: show a Chinese one instead. */
.toast-title { font-size: 0 !important; }
.toast-title::before { font-size: var(--text-lg); content: "提示"; }
.toast-title.error::before { content: "出错了"; }
"""

# Clicking a marker [n] opens its source card and scrolls to it (the card may sit in a scrolled chat).
# The file picker's own refusal of a file type ("Invalid file type: a.exe. Only .md, .txt allowed.") is
# written by Gradio's frontend in English, whatever the language: it is said in Chinese instead, and
# Gradio's English labels for screen readers and toast titles get Chinese ones.
JS = """
() => {
  const refused = /^Invalid file types?: (.+?)(?: and (\\d+) more)?\\. Only (.+) allowed\\.$/;
  const inChinese = (node) => {
    const m = refused.exec(node.textContent.trim());
    if (!m) return;
    const names = m[1].split(", ").join("、") + (m[2] ? ` 等 ${m[1].split(", ").length + Number(m[2])} 个文件` : "");
    node.textContent = `未添加：${names} 的文件类型不支持，只能上传 ${m[3].split(", ").join("、")} 文件。`;
    // the toast says why; the upload box itself goes back to ready instead of staying marked as failed
    const clear = document.querySelector("#rag-upload .clear-status button");
    if (clear) clear.click();
  };
  // Gradio's English labels for screen readers (no i18n key of their own)
  const labels = { "Click to upload or drop files": "点击选择文件或把文件拖到这里", "chatbot conversation": "对话",
                   "Table actions": "表格操作", "Dataframe": "表格" };
  const example = /^Select example (\\d+): /;
  const messages = [[/^user's message: /, "提问："], [/^bot's message: /, "回答："]];  // Gradio puts the HTML in
  const relabel = (node) => {
    const label = node.getAttribute("aria-label");
    let said = labels[label] || (example.test(label) ? label.replace(example, "示例问题 $1：") : null);
    for (const [english, chinese] of messages) {
      if (!said && english.test(label)) said = chinese + node.textContent.replace(/\\s+/g, " ").trim().slice(0, 500);
    }
    if (said) node.setAttribute("aria-label", said);
  };
  const titles = { Error: "出错了", Warning: "提示", Info: "提示", Success: "完成" };
  const toastTitle = (node) => {  // the CSS above shows a Chinese title; this is what a screen reader reads
    const text = node.firstChild;
    if (text && text.nodeType === Node.TEXT_NODE && titles[text.textContent.trim()]) {
      text.textContent = titles[text.textContent.trim()];
    }
  };
  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {  // one pass per frame however many nodes changed (e.g. a streaming answer)
      pending = false;
      document.querySelectorAll("[data-testid=toast-text]").forEach(inChinese);
      document.querySelectorAll(".toast-title").forEach(toastTitle);
      document.querySelectorAll("[aria-label]").forEach(relabel);
    });
  }).observe(document.body, { childList: true, subtree: true });
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.rag-cite");
    if (!link) return;
    const card = document.getElementById(link.getAttribute("href").slice(1));
    if (!card) return;
    event.preventDefault();
    card.open = true;
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    card.classList.remove("rag-flash");
    void card.offsetWidth;
    card.classList.add("rag-flash");
  });
}
"""
