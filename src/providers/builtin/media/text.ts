import { promptRandom } from './raster.js';

const DEFAULT_MAX_WORDS = 80;
const STOPWORDS = new Set(
  'a an and are as at be but by for from in into is it of on or that the this to with without please make write create generate show me my your about during want need some very'.split(' '),
);

const ADJECTIVES = ['vivid', 'quiet', 'luminous', 'careful', 'bold', 'gentle', 'intricate', 'spacious', 'warm', 'crisp'];
const PLACES = [
  'a wide open landscape', 'a calm morning light', 'a busy city street', 'a soft studio backdrop',
  'the edge of a forest', 'a clear night sky', 'a small sunlit room', 'the shore of a still lake',
];
const MOODS = ['hopeful', 'thoughtful', 'playful', 'serene', 'curious', 'confident', 'nostalgic', 'lively'];
const DETAILS = [
  'small details that reward a second look', 'a rhythm that carries the eye from one part to the next',
  'colours that lean into each other', 'a clear sense of scale', 'a balance of light and shadow',
  'textures that feel close enough to touch',
];

/**
 * Produces a deterministic, readable paragraph that restates the prompt and
 * expands on it with phrases picked by the prompt hash. Output is cut to
 * `maxWords` words so callers can bound response size.
 */
export function renderText(p: { prompt: string; maxWords?: number }): string {
  const maxWords = p.maxWords ?? DEFAULT_MAX_WORDS;
  if (!Number.isInteger(maxWords) || maxWords < 1) {
    throw new RangeError(`maxWords must be a positive integer, got ${maxWords}`);
  }
  const rand = promptRandom(p.prompt, 'text');
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

  // Restate the prompt verbatim (trimmed), so the reader recognises their request.
  const words = p.prompt.replace(/\s+/g, ' ').trim().replace(/[.!?;:,]+$/, '').split(' ').filter(Boolean);
  const subject = words.length > 0 ? words.slice(0, 16).join(' ') : 'an untitled idea';
  // Mid-sentence, "A red fox" should read "a red fox" ("I" and acronyms such as "NASA" are left alone).
  const first = words[0] ?? '';
  const keepCase = first === 'I' || first.startsWith("I'") || (first.length > 1 && first === first.toUpperCase());
  const inner = keepCase ? subject : subject.charAt(0).toLowerCase() + subject.slice(1);
  const keywords = words.map((w) => w.replace(/[^\p{L}\p{N}'-]/gu, '')).filter((w) => w.length > 2 && !STOPWORDS.has(w.toLowerCase()));
  const keyword = keywords.length > 0 ? pick(keywords) : 'the idea';
  const mood = pick(MOODS);

  const sentences = [
    `Here is a short piece about ${inner}.`,
    `Picture ${keyword} rendered in ${pick(ADJECTIVES)} detail, set against ${pick(PLACES)}.`,
    `The mood is ${mood}, with ${pick(DETAILS)}.`,
    `Every part of the scene returns to ${keywords.length > 1 ? pick(keywords) : keyword}, giving it a ${pick(ADJECTIVES)} focus.`,
    `In the end, ${inner} feels ${pick(MOODS.filter((m) => m !== mood))} and complete.`,
  ];
  return truncateWords(sentences.join(' '), maxWords);
}

/** Cuts to at most `max` words and makes sure the result still ends like a sentence. */
function truncateWords(text: string, max: number): string {
  const words = text.split(' ');
  if (words.length <= max) return text;
  return `${words.slice(0, max).join(' ').replace(/[.,;:!?]+$/, '')}.`;
}
