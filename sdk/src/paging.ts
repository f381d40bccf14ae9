import type { ListResponse } from './types.js';

/**
 * A list call: `await` it for one page, or `for await` over it for every item of every page
 * (each next page starts after the last item's id). Nothing is fetched until one of the two.
 */
export class PagedList<T extends { id: string }, Q extends { limit?: number; starting_after?: string }>
implements PromiseLike<ListResponse<T>>, AsyncIterable<T> {
  private first: Promise<ListResponse<T>> | undefined;

  constructor(private readonly fetchPage: (query: Q) => Promise<ListResponse<T>>, private readonly query: Q) {}

  then<A = ListResponse<T>, B = never>(
    onFulfilled?: ((page: ListResponse<T>) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.first ??= this.fetchPage(this.query);
    return this.first.then(onFulfilled, onRejected);
  }

  /** Every item, page after page. Without a `limit`, pages of 100 (the most the API gives). */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let query: Q = { ...this.query, limit: this.query.limit ?? 100 };
    for (;;) {
      const page = await this.fetchPage(query);
      for (const item of page.data) yield item;
      const last = page.data[page.data.length - 1];
      if (!page.has_more || last === undefined) return;
      query = { ...query, starting_after: last.id };
    }
  }
}
