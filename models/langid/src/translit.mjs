// translit.mjs - write Greek, Kazakh or Russian text the way people type it
// on a Latin keyboard (Greeklish, "qazaqsha latynsha", translit), to train
// the Latin-script profiles of those languages.
//
// usage: node translit.mjs el|kk|ru < text > text
// One common spelling per letter; accents dropped.
import {createInterface} from 'node:readline'

const base = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'yo', ж: 'zh', з: 'z',
  и: 'i', й: 'y', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p', р: 'r',
  с: 's', т: 't', у: 'u', ф: 'f', х: 'h', ц: 'ts', ч: 'ch', ш: 'sh',
  щ: 'sch', ъ: '', ы: 'y', ь: '', э: 'e', ю: 'yu', я: 'ya'
}
const tables = {
  ru: base,
  kk: {
    ...base, ж: 'j', х: 'h', ә: 'a', ғ: 'g', қ: 'q', ң: 'n', ө: 'o',
    ұ: 'u', ү: 'u', һ: 'h', і: 'i', ы: 'i', и: 'i', й: 'i', у: 'u'
  },
  el: {
    α: 'a', β: 'v', γ: 'g', δ: 'd', ε: 'e', ζ: 'z', η: 'i', θ: 'th',
    ι: 'i', κ: 'k', λ: 'l', μ: 'm', ν: 'n', ξ: 'ks', ο: 'o', π: 'p',
    ρ: 'r', σ: 's', ς: 's', τ: 't', υ: 'y', φ: 'f', χ: 'x', ψ: 'ps',
    ω: 'w'
  }
}
const table = tables[process.argv[2]]
const rl = createInterface({input: process.stdin})
rl.on('line', (line) => {
  const s = line.normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC').toLowerCase()
  let out = ''
  for (const c of s) out += c in table ? table[c] : c
  console.log(out)
})
