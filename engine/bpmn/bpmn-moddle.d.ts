// The parts of bpmn-moddle 10 this engine uses. The package ships types for its
// meta-model (`bpmn-moddle/types`) but none for its entry point.
declare module 'bpmn-moddle' {
  /** A property of a moddle type descriptor (see moddle's package schema). */
  export interface ModdlePropertyDescriptor {
    readonly name: string;
    readonly type?: string;
    readonly isAttr?: boolean;
    readonly isMany?: boolean;
    readonly isBody?: boolean;
    readonly isReference?: boolean;
    readonly [key: string]: unknown;
  }

  /** A type of a moddle package: its own, or an extension (`extends`) of another package's types. */
  export interface ModdleTypeDescriptor {
    readonly name: string;
    readonly superClass?: readonly string[];
    readonly extends?: readonly string[];
    readonly isAbstract?: boolean;
    readonly properties?: readonly ModdlePropertyDescriptor[];
    readonly [key: string]: unknown;
  }

  /** A moddle package: the descriptor of one XML namespace (e.g. camunda-bpmn-moddle's camunda.json). */
  export interface ModdlePackage {
    readonly name: string;
    readonly uri: string;
    readonly prefix: string;
    readonly types: readonly ModdleTypeDescriptor[];
    readonly [key: string]: unknown;
  }

  /** Any element of a parsed document. Typed properties depend on `$type`; see engine/bpmn/model.ts. */
  export interface ModdleElement {
    readonly $type: string;
    /** Attributes no descriptor knows (foreign namespaces, `xmlns:*` declarations), by qualified name. */
    readonly $attrs?: Readonly<Record<string, string>>;
    readonly $parent?: ModdleElement;
    readonly $descriptor?: {
      readonly name?: string;
      /** Set on elements of a namespace no package describes; their attributes are own properties. */
      readonly isGeneric?: boolean;
      readonly ns?: { readonly prefix?: string; readonly localName?: string; readonly uri?: string };
    };
    /** True when the element is of `type` or a subtype of it (e.g. `bpmn:FlowNode`). */
    $instanceOf(type: string): boolean;
    get(name: string): unknown;
  }

  /**
   * A problem the reader found but read past (its lax mode). Unparsable content carries
   * `line` and `column` (0-based) only inside `message`; unresolved references carry
   * `element`, `property` and `value` (the missing id); unknown attributes `element` and `property`.
   */
  export interface ParseWarning {
    readonly message: string;
    readonly error?: Error;
    readonly element?: ModdleElement;
    readonly property?: string;
    readonly value?: string;
  }

  /** A reference (e.g. `sourceRef`) as the reader collected it, resolved or not. */
  export interface ParseReference {
    readonly element: ModdleElement;
    readonly property: string;
    readonly id: string;
  }

  export interface ParseResult {
    readonly rootElement: ModdleElement;
    readonly elementsById: Readonly<Record<string, ModdleElement>>;
    readonly references: readonly ParseReference[];
    readonly warnings: readonly ParseWarning[];
  }

  /** What `fromXML` rejects with: not well-formed XML, or no root element of the asked type. */
  export interface ParseError extends Error {
    readonly warnings?: readonly ParseWarning[];
  }

  export class BpmnModdle {
    constructor(packages?: Readonly<Record<string, ModdlePackage>>, options?: { readonly strict?: boolean });
    /** Reads a document; rejects with a {@link ParseError}. `typeName` defaults to `bpmn:Definitions`. */
    fromXML(xml: string, typeName?: string, options?: { readonly lax?: boolean }): Promise<ParseResult>;
  }
}
