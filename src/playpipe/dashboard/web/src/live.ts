// /v1/live over fetch (EventSource cannot send the bearer token): calls back on each event.

import { authHeaders } from "./api";

export type LiveState = "live" | "reconnecting";

export function follow(
  window: string,
  onEvent: (kind: string) => void,
  onState: (state: LiveState) => void,
): () => void {
  const abort = new AbortController();
  let stopped = false;

  async function run(): Promise<void> {
    while (!stopped) {
      try {
        const response = await fetch(`/v1/live?window=${encodeURIComponent(window)}`, {
          headers: authHeaders(),
          signal: abort.signal,
        });
        if (!response.ok || !response.body) throw new Error(`live: ${response.status}`);
        onState("live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const kind = /^event: (.*)$/m.exec(block)?.[1];
            if (kind) onEvent(kind);
          }
        }
      } catch {
        if (stopped) return;
      }
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }

  void run();
  return () => {
    stopped = true;
    abort.abort();
  };
}
