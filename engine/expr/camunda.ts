/**
 * Camunda's own expression forms, translated to jsonata where they are simple comparisons:
 * Camunda 7 JUEL inside `${...}` (e.g. `${alert.severity == 'high' && !closed}`) and Camunda 8 FEEL
 * after `=` (e.g. `=alert.severity = "high" and not(closed)`).
 *
 * "Simple" means: operands are variable paths (`a.b.c`) and string, number, boolean or null literals;
 * operators are comparisons (`==`/`=`, `!=`, `<`, `<=`, `>`, `>=`), `&&`/`and`, `||`/`or`, `!`/`not`,
 * and parentheses. Anything else (method calls, `execution.getVariable(...)`, ternaries, arithmetic,
 * FEEL functions) is refused: those bodies must be rewritten in jsonata, never guessed at.
 *
 * Semantics follow JUEL/FEEL null handling where jsonata differs: `a != b` is true when `a` is
 * missing (jsonata's `!=` would be false), so it is translated to `$not(a = b)`.
 */

/** `juel`: the inside of `${...}`; `feel`: the text after `=`. */
export type Dialect = 'juel' | 'feel';

/** A jsonata translation, or what in the text is not a simple comparison. */
export type Translation = { expression: string } | { unsupported: string };

type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
type Node =
  | { kind: 'path'; parts: string[] }
  | { kind: 'literal'; text: string }
  | { kind: 'not'; operand: Node }
  | { kind: 'compare'; op: CompareOp; left: Node; right: Node }
  | { kind: 'logic'; op: 'and' | 'or'; left: Node; right: Node };

interface Token {
  type: 'name' | 'string' | 'number' | 'op' | 'end';
  value: string;
  pos: number;
}

/** Parentheses and `!` nest at most this deep: deeper is not a simple comparison. */
const MAX_NESTING = 32;

const OPERATORS: Readonly<Record<Dialect, readonly string[]>> = {
  // longest first, so `<=` is not read as `<`
  juel: ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '.', '-'],
  feel: ['!=', '<=', '>=', '=', '<', '>', '(', ')', '.', '-'],
};
const JUEL_WORDS: Readonly<Record<string, string>> = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=', and: '&&', or: '||', not: '!' };
const COMPARE: Readonly<Record<string, CompareOp>> = { '==': '=', '=': '=', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
/** Words that are operators or literals in jsonata: a path segment so named is quoted with backticks. */
const JSONATA_WORDS: ReadonlySet<string> = new Set(['and', 'or', 'in', 'true', 'false', 'null', 'function']);

class Unsupported extends Error {}

function tokenize(text: string, dialect: Dialect, offset: number): Token[] {
  const tokens: Token[] = [];
  const ops = OPERATORS[dialect];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const start = i;
    if (c === '"' || (c === "'" && dialect === 'juel')) {
      let value = '';
      i += 1;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) {
          const next = text[i + 1]!;
          value += dialect === 'feel' && next === 'n' ? '\n' : dialect === 'feel' && next === 't' ? '\t' : next;
          i += 2;
        } else {
          value += text[i];
          i += 1;
        }
      }
      if (i >= text.length) throw new Unsupported(`an unterminated string at position ${start + offset}`);
      i += 1;
      tokens.push({ type: 'string', value, pos: start + offset });
      continue;
    }
    const number = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      i += number[0].length;
      tokens.push({ type: 'number', value: number[0], pos: start + offset });
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (name) {
      i += name[0].length;
      const word = dialect === 'juel' ? JUEL_WORDS[name[0]] : undefined;
      tokens.push(word ? { type: 'op', value: word, pos: start + offset } : { type: 'name', value: name[0], pos: start + offset });
      continue;
    }
    const op = ops.find((o) => text.startsWith(o, i));
    if (!op) throw new Unsupported(`"${c}" at position ${start + offset}`);
    i += op.length;
    tokens.push({ type: 'op', value: op, pos: start + offset });
  }
  tokens.push({ type: 'end', value: '', pos: text.length + offset });
  return tokens;
}

class Parser {
  #i = 0;
  #nesting = 0;
  constructor(
    readonly tokens: Token[],
    readonly dialect: Dialect,
  ) {}

  get #tok(): Token {
    return this.tokens[this.#i] ?? this.tokens[this.tokens.length - 1]!;
  }

  #atEnd(): boolean {
    return this.#tok.type === 'end';
  }

  #isOp(value: string): boolean {
    const t = this.#tok;
    return t.type === 'op' && t.value === value;
  }

  #isWord(value: string): boolean {
    const t = this.#tok;
    return t.type === 'name' && t.value === value;
  }

  #describe(t: Token): string {
    return t.type === 'end' ? 'the end of the expression' : `"${t.value}" at position ${t.pos}`;
  }

  #expect(value: string): void {
    if (!this.#isOp(value)) throw new Unsupported(`${this.#describe(this.#tok)} where "${value}" was expected`);
    this.#i += 1;
  }

  #nest<T>(f: () => T): T {
    if (++this.#nesting > MAX_NESTING) throw new Unsupported(`nesting deeper than ${MAX_NESTING}`);
    const result = f();
    this.#nesting -= 1;
    return result;
  }

  parse(): Node {
    if (this.#atEnd()) throw new Unsupported('an empty expression');
    const node = this.#or();
    if (!this.#atEnd()) throw new Unsupported(`${this.#describe(this.#tok)}, where an operator or the end was expected`);
    return node;
  }

  #or(): Node {
    let left = this.#and();
    while (this.dialect === 'juel' ? this.#isOp('||') : this.#isWord('or')) {
      this.#i += 1;
      left = { kind: 'logic', op: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): Node {
    let left = this.#unary();
    while (this.dialect === 'juel' ? this.#isOp('&&') : this.#isWord('and')) {
      this.#i += 1;
      left = { kind: 'logic', op: 'and', left, right: this.#unary() };
    }
    return left;
  }

  #unary(): Node {
    if (this.dialect === 'juel' && this.#isOp('!')) {
      this.#i += 1;
      return this.#nest(() => ({ kind: 'not', operand: this.#unary() }));
    }
    if (this.dialect === 'feel' && this.#isWord('not') && this.tokens[this.#i + 1]?.value === '(') {
      this.#i += 2;
      const operand = this.#nest(() => this.#or());
      this.#expect(')');
      return { kind: 'not', operand };
    }
    return this.#comparison();
  }

  #comparison(): Node {
    const left = this.#primary();
    const t = this.#tok;
    const op = t.type === 'op' ? COMPARE[t.value] : undefined;
    if (!op) return left;
    this.#i += 1;
    return { kind: 'compare', op, left, right: this.#primary() };
  }

  #primary(): Node {
    const t = this.#tok;
    if (this.#isOp('(')) {
      this.#i += 1;
      const inner = this.#nest(() => this.#or());
      this.#expect(')');
      return inner;
    }
    if (t.type === 'string') {
      this.#i += 1;
      return { kind: 'literal', text: JSON.stringify(t.value) };
    }
    if (t.type === 'number' || (this.#isOp('-') && this.tokens[this.#i + 1]?.type === 'number')) {
      const negative = t.type === 'op';
      if (negative) this.#i += 1;
      const number = Number(this.#tok.value) * (negative ? -1 : 1);
      this.#i += 1;
      if (!Number.isFinite(number)) throw new Unsupported(`the number ${t.value} is out of range`);
      return { kind: 'literal', text: String(number) };
    }
    if (t.type === 'name') {
      if (t.value === 'true' || t.value === 'false' || t.value === 'null') {
        this.#i += 1;
        return { kind: 'literal', text: t.value };
      }
      const parts = [t.value];
      this.#i += 1;
      while (this.#isOp('.')) {
        this.#i += 1;
        const next = this.#tok;
        if (next.type !== 'name') throw new Unsupported(`${this.#describe(next)} after "."`);
        parts.push(next.value);
        this.#i += 1;
      }
      if (this.#isOp('(')) throw new Unsupported(`a method or function call: ${parts.join('.')}(...)`);
      return { kind: 'path', parts };
    }
    throw new Unsupported(`${this.#describe(t)} where a variable or a literal was expected`);
  }
}

function segment(name: string): string {
  return JSONATA_WORDS.has(name) ? `\`${name}\`` : name;
}

function emit(node: Node): string {
  switch (node.kind) {
    case 'path':
      return node.parts.map(segment).join('.');
    case 'literal':
      return node.text;
    case 'not':
      return `$not(${emit(node.operand)})`;
    case 'compare':
      return node.op === '!=' ? `$not(${emit(node.left)} = ${emit(node.right)})` : `(${emit(node.left)} ${node.op} ${emit(node.right)})`;
    case 'logic':
      return `(${emit(node.left)} ${node.op} ${emit(node.right)})`;
  }
}

/** Strips the outer parentheses emit() puts around a whole comparison. */
function unwrap(text: string): string {
  if (!text.startsWith('(') || !text.endsWith(')')) return text;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      // skip a string literal (JSON.stringify escapes quotes inside it)
      for (i += 1; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i += 1;
    } else if (c === '(') depth += 1;
    else if (c === ')' && --depth === 0 && i < text.length - 1) return text;
  }
  return text.slice(1, -1);
}

/**
 * Translates a simple comparison in JUEL (`${}` inside) or FEEL (after `=`) to jsonata. Pure.
 * `offset`: where `text` starts in what the author wrote, so reported positions are theirs.
 */
export function translateSimple(text: string, dialect: Dialect, offset = 0): Translation {
  try {
    return { expression: unwrap(emit(new Parser(tokenize(text, dialect, offset), dialect).parse())) };
  } catch (err) {
    if (err instanceof Unsupported) return { unsupported: err.message };
    throw err;
  }
}

/** A piece of Camunda 7 text: literal text, or the inside of a `${...}` / `#{...}` starting at `at`. */
export type TextPart = { literal: string } | { juel: string; at: number };

/**
 * Splits Camunda 7 text into literal text and `${...}` / `#{...}` expressions (a `}` inside a
 * quoted string does not end one). Returns undefined when an expression is not closed.
 */
export function splitJuel(text: string): TextPart[] | undefined {
  const parts: TextPart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if ((text[i] === '$' || text[i] === '#') && text[i + 1] === '{') {
      let j = i + 2;
      let quote: string | undefined;
      for (; j < text.length; j++) {
        const c = text[j];
        if (quote) {
          if (c === '\\') j += 1;
          else if (c === quote) quote = undefined;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '}') break;
      }
      if (j >= text.length) return undefined;
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ juel: text.slice(i + 2, j), at: i + 2 });
      i = j + 1;
    } else {
      literal += text[i];
      i += 1;
    }
  }
  if (literal) parts.push({ literal });
  return parts;
}
