// Runs one Conformity handler once, in this fresh node process, as Lambda's Node runtime would:
//   node bench/seed_invoke.js <path/to/functions/AutoRemediateX.js> '<event JSON>'
// Prints marker lines the bench timestamps as they arrive (stdout to a pipe is synchronous in
// node on Linux): "@@BENCH start" on entry, "@@BENCH loaded" once the handler module (and its AWS
// SDK) is required, "@@BENCH result {...}" when the handler answers. Then it stays alive until
// killed, so the bench can read its peak RSS (VmHWM) first.
// This file is ours; the seed's code is exported at bench time into target/bench/seed, never committed.
'use strict'
const mark = (what, extra) => process.stdout.write(`\n@@BENCH ${what}${extra === undefined ? '' : ' ' + JSON.stringify(extra)}\n`)
mark('start')
const [file, eventJson] = process.argv.slice(2)
const mod = require(file)
mark('loaded')
const event = JSON.parse(eventJson)
const context = { functionName: 'bench-seed', awsRequestId: 'bench', getRemainingTimeInMillis: () => 60000 }
let answered = false
const done = (err, data) => {
  if (answered) return
  answered = true
  mark('result', err ? { error: String(err && err.message ? err.message : err) } : { ok: data === undefined ? null : data })
}
try {
  // Lambda's Node runtime: a handler taking three arguments answers through the callback,
  // otherwise through its promise.
  if (mod.handler.length >= 3) {
    mod.handler(event, context, done)
  } else {
    Promise.resolve(mod.handler(event, context)).then((v) => done(null, v), (e) => done(e))
  }
} catch (e) {
  done(e)
}
setInterval(() => {}, 1 << 30)
