// The configuration that points a media server's notifications at this panel (docs/agent.md).

/** nginx-rtmp: every notification of the `rtmp { server { … } }` block, with heartbeats. */
export function nginxRtmpHooks(url: string): string {
  return [
    `on_publish      ${url};`,
    `on_publish_done ${url};`,
    `on_play         ${url};`,
    `on_play_done    ${url};`,
    `on_done         ${url};`,
    `on_update       ${url};`,
    'notify_update_timeout 30s;',
  ].join('\n');
}

/** SRS: the `http_hooks` section of a vhost. */
export function srsHooks(url: string): string {
  return [
    'http_hooks {',
    '    enabled      on;',
    `    on_publish   ${url};`,
    `    on_unpublish ${url};`,
    `    on_play      ${url};`,
    `    on_stop      ${url};`,
    `    on_close     ${url};`,
    '}',
  ].join('\n');
}
