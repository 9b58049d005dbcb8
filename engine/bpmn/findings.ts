import { SourceIndex, type SourcePosition } from './source-index.ts';

/** Something wrong with a playbook, named by the element it is about. */
export interface Problem {
  /** The element's id, or `definitions` (or a tag name) when no id applies. */
  element: string;
  reason: string;
  /** 1-based, in the deployed XML text, when known. */
  line?: number;
  column?: number;
}

/**
 * The problems (fatal) and warnings of one validation. Each finding gets the position of its
 * element in the XML text unless the caller knows a better one; repeated findings are dropped.
 */
export class Findings {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];
  readonly #source: SourceIndex;
  readonly #seen = new Set<string>();

  constructor(xml: string) {
    this.#source = new SourceIndex(xml);
  }

  /** The position of a character offset in the XML text. */
  positionOf(offset: number): SourcePosition {
    return this.#source.positionOf(offset);
  }

  problem(element: string, reason: string, at?: SourcePosition): void {
    this.#add(this.problems, element, reason, at);
  }

  warn(element: string, reason: string, at?: SourcePosition): void {
    this.#add(this.warnings, element, reason, at);
  }

  #add(into: Problem[], element: string, reason: string, at: SourcePosition | undefined): void {
    const key = `${into === this.problems ? 'p' : 'w'}\u0000${element}\u0000${reason}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const position = at ?? this.#source.positionOfId(element);
    into.push(position ? { element, reason, line: position.line, column: position.column } : { element, reason });
  }
}
