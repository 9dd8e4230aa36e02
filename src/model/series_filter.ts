/**
 * Which series a read wants: the filter queries, the raw tier reader and the duplicate check share.
 *
 * @module
 */

/** Which series to read: a namespace, optionally narrowed to a target and a poller. */
export interface SeriesFilter {
  namespace: string;
  target?: string;
  poller?: string;
}
