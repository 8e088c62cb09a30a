/**
 * Roughtime tags. A tag is up to four ASCII bytes padded with NULs, read as a little-endian
 * uint32, so the first character is the least significant byte and ascending wire order is the
 * numeric order of these values.
 */

/** The uint32 value of a tag written as up to four characters (`\xff` allowed for Google's PAD). */
export function tagValue(name: string): number {
  if (name.length === 0 || name.length > 4)
    throw new RangeError(`tag name must be 1-4 characters, got ${JSON.stringify(name)}`);
  let value = 0;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`tag name must be single bytes, got ${JSON.stringify(name)}`);
    value |= code << (8 * i);
  }
  return value >>> 0;
}

export const Tag = {
  SIG: tagValue('SIG'),
  VER: tagValue('VER'),
  SRV: tagValue('SRV'),
  NONC: tagValue('NONC'),
  DELE: tagValue('DELE'),
  TYPE: tagValue('TYPE'),
  PATH: tagValue('PATH'),
  RADI: tagValue('RADI'),
  PUBK: tagValue('PUBK'),
  MIDP: tagValue('MIDP'),
  SREP: tagValue('SREP'),
  VERS: tagValue('VERS'),
  MINT: tagValue('MINT'),
  ROOT: tagValue('ROOT'),
  CERT: tagValue('CERT'),
  MAXT: tagValue('MAXT'),
  INDX: tagValue('INDX'),
  ZZZZ: tagValue('ZZZZ'),
  /** Google's padding tag, `PAD\xff`: sorts after every other tag. */
  PAD: tagValue('PAD\xff'),
} as const;

/** A printable name for a tag value: `NONC`, `PAD\xff`, or hex for anything unprintable. */
export function tagName(value: number): string {
  let name = '';
  for (let i = 0; i < 4; i++) {
    const byte = (value >>> (8 * i)) & 0xff;
    if (byte === 0) {
      // NUL is padding only at the end; anything after it makes the tag unprintable.
      if (value >>> (8 * i) !== 0) return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
      break;
    }
    if (byte === 0xff) name += '\\xff';
    else if (byte >= 0x20 && byte < 0x7f) name += String.fromCharCode(byte);
    else return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
  }
  return name;
}
