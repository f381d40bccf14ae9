// gifenc ships no types; this covers only the API the local media renderers use.
// Under Node ESM the CommonJS exports object arrives as the default import.
declare module 'gifenc' {
  export type Palette = number[][];

  export interface FrameOptions {
    palette?: Palette;
    first?: boolean;
    transparent?: boolean;
    transparentIndex?: number;
    /** Frame delay in milliseconds. */
    delay?: number;
    /** 0 loops forever, -1 plays once, n repeats n times. */
    repeat?: number;
    dispose?: number;
  }

  export interface Encoder {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: FrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
    bytesView(): Uint8Array;
  }

  export type Format = 'rgb565' | 'rgb444' | 'rgba4444';

  interface Gifenc {
    GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): Encoder;
    quantize(rgba: Uint8Array | Uint8ClampedArray, maxColors: number, opts?: { format?: Format }): Palette;
    applyPalette(rgba: Uint8Array | Uint8ClampedArray, palette: Palette, format?: Format): Uint8Array;
  }

  const gifenc: Gifenc;
  export default gifenc;
}
