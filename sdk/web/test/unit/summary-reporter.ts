/** Prints one plain closing line, `N passed, N failed[, N skipped]`, after vitest's own report. */
import type { Reporter } from 'vitest/reporters';

interface Task {
  type: string;
  mode?: string;
  result?: { state?: string };
  tasks?: Task[];
}

function count(tasks: Task[], c = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.tasks) count(t.tasks, c);
    if (t.type !== 'test') continue;
    const s = t.result?.state;
    if (s === 'pass') c.passed++;
    else if (s === 'fail') c.failed++;
    else c.skipped++;
  }
  return c;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: Task[] = [], errors: unknown[] = []): void {
    const c = count(files);
    const failed = c.failed + (errors.length ? 1 : 0);
    console.log(`\n${c.passed} passed, ${failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`);
  }
}
