// Shared plumbing of the peer scripts: one JSON request on stdin, one JSON answer on stdout.
// A failure is an answer too ({"error": ...}) so the Python side can say which peer refused what.

export async function readRequest() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function serve(handlers) {
  const command = process.argv[2];
  const handler = handlers[command];
  if (!handler) {
    process.stdout.write(JSON.stringify({ error: `unknown command ${command}` }));
    process.exitCode = 2;
    return;
  }
  try {
    const answer = await handler(await readRequest());
    process.stdout.write(JSON.stringify({ ok: true, ...answer }));
  } catch (error) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(error && error.message ? error.message : error) }));
  }
}
