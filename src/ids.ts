import { v7 } from 'uuid';

/** A new time-ordered UUID (v7): ids sort in creation order, which keeps indexes compact. */
export function newId(): string {
  return v7();
}
