/**
 * The screens, addressed by the URL's hash so a wall screen can be pointed at one and reloaded:
 * `#/seat`, `#/seat/<mine>`, `#/mine/<mine>`, `#/map`, `#/history`, `#/history/<device>`, `#/report`, `#/admin`. Anything else goes to the user's home screen.
 */
export type Route =
  | { readonly page: 'seat' | 'mine'; readonly mine?: string | undefined }
  | { readonly page: 'map' }
  | { readonly page: 'admin' }
  | { readonly page: 'report' }
  | { readonly page: 'history'; readonly device?: string | undefined }

export function parseRoute(hash: string): Route | undefined {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  const [page, mine] = parts
  if (page === 'map' && parts.length === 1) return { page: 'map' }
  if (page === 'admin' && parts.length === 1) return { page: 'admin' }
  if (page === 'report' && parts.length === 1) return { page: 'report' }
  if (page === 'history' && parts.length <= 2) return { page: 'history', device: mine }
  if ((page === 'seat' || page === 'mine') && parts.length <= 2) return { page, mine }
  return undefined
}

export function routeHash(route: Route): string {
  if (route.page === 'map') return '#/map'
  if (route.page === 'admin') return '#/admin'
  if (route.page === 'report') return '#/report'
  if (route.page === 'history') return `#/history${route.device ? `/${encodeURIComponent(route.device)}` : ''}`
  return `#/${route.page}${route.mine ? `/${encodeURIComponent(route.mine)}` : ''}`
}

/** A regulator starts on the map; the people of a mine start at its seat. */
export const homeOf = (role: string): Route => (role === 'regulator' ? { page: 'map' } : { page: 'seat' })
