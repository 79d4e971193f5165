import { LineCounter, isNode, type Document } from 'yaml';
import { tr } from '../i18n/index.js';

export type IssuePath = (string | number)[];

export interface TemplateIssue {
  /** File name relative to the template directory. */
  file: string;
  path: IssuePath;
  line?: number;
  column?: number;
  message: string;
}

/** Raised by the loader; its message lists every issue, one per line, without a stack trace. */
export class TemplateError extends Error {
  constructor(
    readonly dir: string,
    readonly issues: TemplateIssue[],
  ) {
    super(`${tr().template.errors(dir, issues.length)}\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'TemplateError';
  }
}

export function formatPath(path: IssuePath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

export function formatIssue(issue: TemplateIssue): string {
  const where = issue.line ? `${issue.file}:${issue.line}:${issue.column ?? 1}` : issue.file;
  const path = formatPath(issue.path);
  return `${where} ${path ? `${path}: ` : ''}${issue.message}`;
}

/** A parsed YAML file that can tell the line of any path inside it. */
export class SourceFile {
  constructor(
    readonly name: string,
    readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(name: string, text: string, doc: (text: string, lines: LineCounter) => Document): SourceFile {
    const lines = new LineCounter();
    return new SourceFile(name, doc(text, lines), lines);
  }

  position(path: IssuePath): { line?: number; column?: number } {
    // Walk up to the deepest existing node so a missing key points at its parent.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) {
        const pos = this.lines.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return {};
  }
}

export class IssueList {
  readonly items: TemplateIssue[] = [];

  add(file: SourceFile | string, path: IssuePath, message: string): void {
    if (typeof file === 'string') {
      this.items.push({ file, path, message });
      return;
    }
    this.items.push({ file: file.name, path, message, ...file.position(path) });
  }

  get empty(): boolean {
    return this.items.length === 0;
  }
}
