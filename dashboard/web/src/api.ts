/**
 * The REST client: same-origin fetch with the session cookie, errors as {code, message} from the
 * platform's error catalog (README, HTTP API), and the server's clock, so that countdowns agree
 * with the deadline the server keeps even when the screen's own clock is off.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

let offset = 0
/** Now, by the platform's clock (its Date header has 1 s resolution; half a second is added). */
export const serverNow = (): number => Date.now() + offset

export async function api<T>(path: string, init: { method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'; body?: unknown } = {}): Promise<T> {
  // a file (a site plan drawing) goes as it is, with its own type; anything else as JSON
  const raw = init.body instanceof Blob
  let res: Response
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      credentials: 'same-origin',
      headers: init.body === undefined ? {} : { 'content-type': raw ? (init.body as Blob).type : 'application/json' },
      body: init.body === undefined ? undefined : raw ? (init.body as Blob) : JSON.stringify(init.body),
    })
  } catch {
    throw new ApiError(0, 'MW_NETWORK', '无法连接平台, 请检查网络 (the platform cannot be reached; check the network)')
  }
  const date = res.headers.get('date')
  if (date) offset = Date.parse(date) + 500 - Date.now()
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `请求失败 (HTTP ${res.status})`)
  }
  return json as T
}
