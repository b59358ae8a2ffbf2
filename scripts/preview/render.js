// Turns a Markdown report into an HTML page close to a GitHub comment: GitHub's stylesheet,
// `marked` for GFM, and each `mermaid` code block handed to mermaid. Used by preview.sh.
const fs = require('fs');
const { marked } = require('marked');
const md = fs.readFileSync(process.argv[2], 'utf8');
const renderer = new marked.Renderer();
const origCode = renderer.code.bind(renderer);
renderer.code = function (tok) {
  if (tok.lang === 'mermaid') return `<pre class="mermaid">${tok.text}</pre>`;
  return origCode(tok);
};
let body = marked.parse(md, { renderer, gfm: true });
// GitHub's alerts (`> [!CAUTION]`, `> [!WARNING]`, `> [!NOTE]`), which marked leaves as quotes.
body = body.replace(/<blockquote>\s*<p>\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*([\s\S]*?)<\/blockquote>/g,
  (_, kind, rest) => `<div class="markdown-alert markdown-alert-${kind.toLowerCase()}"><p class="markdown-alert-title">${kind[0]}${kind.slice(1).toLowerCase()}</p><p>${rest}</div>`);
// OPEN=1: every collapsed section open, to see the tables in the screenshot.
if (process.env.OPEN === '1') body = body.replace(/<details>/g, '<details open>');
const html = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="node_modules/github-markdown-css/github-markdown-light.css">
<style>.markdown-body{box-sizing:border-box;max-width:980px;margin:0 auto;padding:45px}</style>
</head><body><article class="markdown-body">${body}</article>
<script src="node_modules/mermaid/dist/mermaid.min.js"></script>
<script>mermaid.initialize({startOnLoad:false}); mermaid.run().then(()=>{document.title='done'}).catch(e=>{document.body.insertAdjacentHTML('afterbegin','<h1>MERMAID ERROR '+e+'</h1>')});</script>
</body></html>`;
fs.writeFileSync(process.argv[3], html);
