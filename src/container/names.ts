/**
 * Names for containers that were not given one, in docker's adjective_surname shape, from word
 * lists of box's own: adjectives of weather, light and texture, and surnames of navigators,
 * cartographers and naturalists. A generated name is claimed like a given one (src/store/
 * containers.ts, claimName); a taken one is drawn again, and after a few draws a digit is added.
 */
import { BoxError } from "../errors";
import { claimName } from "../store/containers";
import type { Layout } from "../store/layout";

const ADJECTIVES = [
  "amber", "ashen", "balmy", "blustery", "breezy", "brisk", "calm", "cloudless", "coastal", "crisp",
  "dappled", "dewy", "drifting", "dusky", "early", "foggy", "frosty", "gentle", "gilded", "glassy",
  "gleaming", "hazy", "hushed", "icy", "lucent", "misty", "mossy", "muted", "nimble", "northern",
  "opal", "pale", "pebbled", "quiet", "rainy", "rippled", "rosy", "russet", "salty", "sandy",
  "shaded", "silken", "silver", "sleepy", "smoky", "snowy", "southern", "sparkling", "steady", "still",
  "stormy", "sunlit", "tidal", "tranquil", "velvet", "vivid", "wandering", "warm", "windy", "woolly",
] as const;

const SURNAMES = [
  "abruzzi", "amundsen", "baffin", "banks", "barents", "bering", "bird", "bonpland", "cabot", "cartier",
  "cavendish", "champlain", "cook", "dampier", "darwin", "drake", "eriksson", "flinders", "forster", "franklin",
  "frobisher", "gama", "hanno", "hedin", "henson", "hillary", "hudson", "humboldt", "ibnbattuta", "janszoon",
  "kingsley", "laperouse", "lewis", "livingstone", "magellan", "mawson", "mercator", "merian", "nansen", "norgay",
  "ortelius", "parry", "peary", "pigafetta", "polo", "pytheas", "raleigh", "ross", "sacagawea", "scott",
  "shackleton", "stanley", "tasman", "tenzing", "vancouver", "vespucci", "wallace", "weddell", "zheng", "zhang",
] as const;

/** A uniform integer below n from the Web Crypto global (node:crypto costs start-up: src/sys/terminal.ts). */
function randomInt(n: number): number {
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  const word = new Uint32Array(1);
  do crypto.getRandomValues(word);
  while (word[0]! >= limit);
  return word[0]! % n;
}

export function randomName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
}

/**
 * Claims a generated name for a container whose record already names it `first`: when that one is
 * taken, another is drawn (a few times as is, then with a digit) and rename(name) records it first.
 */
export function claimGeneratedName(layout: Layout, id: string, first: string, rename: (name: string) => void): string {
  let name = first;
  for (let attempt = 0; ; attempt++) {
    try {
      claimName(layout, name, id);
      return name;
    } catch (err) {
      if (!(err instanceof BoxError) || !err.message.includes("already in use") || attempt >= 20) throw err;
    }
    name = attempt < 10 ? randomName() : `${randomName()}${randomInt(10)}`;
    rename(name);
  }
}
