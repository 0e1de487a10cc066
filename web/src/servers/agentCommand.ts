// The command that starts the Tally agent beside a media server and points it at this panel.

/** nginx-rtmp is the default source because its /stat page needs no credentials to read. */
export function agentCommand(panelOrigin: string, token: string): string {
  return `tally agent --panel ${panelOrigin} --token ${token} --source nginx-rtmp=http://127.0.0.1:8080/stat`;
}
