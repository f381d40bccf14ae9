import { move } from 'piscina';
import { runMediaTask, type MediaTask } from './media/tasks.js';

/**
 * The entry point of a media worker thread (loaded by piscina, see media-pool.ts): runs one
 * task and hands the encoded bytes back without copying them when they own their memory.
 */
export default function mediaThread(task: MediaTask): unknown {
  const bytes = runMediaTask(task);
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  // A small Buffer may sit in Node's shared pool: transferring that would take the pool with it.
  const out = own ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : Uint8Array.from(bytes);
  return move(out);
}
