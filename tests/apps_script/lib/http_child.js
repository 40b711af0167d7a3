'use strict';
// One real HTTP request, run as a child process so that the UrlFetchApp
// stand-in can be synchronous like Apps Script's: the parent blocks in
// execFileSync while this process fetches. Request on stdin, answer on stdout:
// {status, headers, body (base64)} or {failure: {kind, detail}}.

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  let answer;
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body === null ? undefined : Buffer.from(request.body, 'base64'),
      redirect: request.followRedirects ? 'follow' : 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const body = Buffer.from(await response.arrayBuffer());
    answer = {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: body.toString('base64'),
    };
  } catch (error) {
    const timedOut = error.name === 'TimeoutError' || error.name === 'AbortError';
    const cause = error.cause ? `${error.cause.code || ''} ${error.cause.message || ''}` : '';
    answer = {failure: {kind: timedOut ? 'timeout' : 'unreachable', detail: cause || error.message}};
  }
  process.stdout.write(JSON.stringify(answer));
}

main();
