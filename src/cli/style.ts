// Colour on a terminal, none when piped: node:util's styleText (no dependency) does the colouring; whether to colour
// follows Node's own rule for its tty streams — FORCE_COLOR first (0 or false turns it off), then NO_COLOR, then
// whether the stream is a terminal that has colours (TERM=dumb has none).
import { styleText } from 'node:util';
import { PLAIN, type Style } from '../install/render.js';

export function colourOn(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined) return !['0', 'false'].includes(env.FORCE_COLOR.toLowerCase());
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && typeof stream.hasColors === 'function' && stream.hasColors();
}

type Format = Parameters<typeof styleText>[0];
const paint = (format: Format) => (text: string) => styleText(format, text);

const COLOURS: Style = {
  create: paint('green'),
  update: paint('yellow'),
  delete: paint('red'),
  keep: paint('gray'),
  skip: paint('magenta'),
  heading: paint('bold'),
  dim: paint('gray'),
  good: paint('green'),
  bad: paint('red'),
};

/** The style for text written to `stream`. */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  return colourOn(stream, env) ? COLOURS : PLAIN;
}
