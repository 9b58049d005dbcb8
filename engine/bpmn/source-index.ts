/** A 1-based line and column in the XML text. */
export interface SourcePosition {
  line: number;
  column: number;
}

const ID_ATTRIBUTE = /\sid\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/**
 * Finds where elements sit in the XML text, so a problem can point at the author's source.
 * Built lazily with one pass over the text, whatever the number of look-ups.
 */
export class SourceIndex {
  readonly #xml: string;
  #lineStarts: number[] | undefined;
  #tagOffsetById: Map<string, number> | undefined;

  constructor(xml: string) {
    this.#xml = xml;
  }

  /** The start tag of the first element whose `id` attribute is `id`. */
  positionOfId(id: string): SourcePosition | undefined {
    const offset = this.#tagOffsets().get(id);
    return offset === undefined ? undefined : this.positionOf(offset);
  }

  /** The position of a character offset. */
  positionOf(offset: number): SourcePosition {
    const starts = this.#starts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] ?? 0) + 1 };
  }

  #starts(): number[] {
    if (!this.#lineStarts) {
      const starts = [0];
      const breaks = /\r\n|\r|\n/g;
      for (let m = breaks.exec(this.#xml); m; m = breaks.exec(this.#xml)) starts.push(m.index + m[0].length);
      this.#lineStarts = starts;
    }
    return this.#lineStarts;
  }

  #tagOffsets(): Map<string, number> {
    if (!this.#tagOffsetById) {
      const byId = new Map<string, number>();
      const xml = this.#xml;
      ID_ATTRIBUTE.lastIndex = 0;
      for (let m = ID_ATTRIBUTE.exec(xml); m; m = ID_ATTRIBUTE.exec(xml)) {
        const id = m[1] ?? m[2];
        if (id === undefined || byId.has(id)) continue;
        const tagStart = xml.lastIndexOf('<', m.index);
        byId.set(id, tagStart === -1 ? m.index : tagStart);
      }
      this.#tagOffsetById = byId;
    }
    return this.#tagOffsetById;
  }
}
