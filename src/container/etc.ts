/**
 * The container's /etc/hosts and /etc/resolv.conf, as the network made them, with what the user
 * added: --add-host lines, --dns servers (which replace the host's), --dns-search and --dns-option.
 */
import { BoxError } from "../errors";
import type { RunRequest } from "../spec/request";

export function withExtraHosts(hosts: string, req: RunRequest, gateway: string | undefined): string {
  const extra = (req.extraHosts ?? []).map(({ host, ip }) => {
    if (ip !== "host-gateway") return `${ip}\t${host}\n`;
    if (!gateway) throw new BoxError(`--add-host ${host}:host-gateway needs --network bridge: only a bridged container has a gateway`);
    return `${gateway}\t${host}\n`;
  });
  return hosts + extra.join("");
}

export function withDns(resolvConf: string, req: RunRequest): string {
  const dns = req.dns ?? [], search = req.dnsSearch ?? [], options = req.dnsOptions ?? [];
  if (dns.length === 0 && search.length === 0 && options.length === 0) return resolvConf;
  const kept = resolvConf.split("\n").filter((l) => {
    if (dns.length > 0 && /^\s*nameserver\s/.test(l)) return false;
    if (search.length > 0 && /^\s*(search|domain)\s/.test(l)) return false;
    if (options.length > 0 && /^\s*options\s/.test(l)) return false;
    return l.trim() !== "";
  });
  const lines = [
    ...(search.length > 0 ? [`search ${search.join(" ")}`] : []),
    ...dns.map((ip) => `nameserver ${ip}`),
    ...kept,
    ...(options.length > 0 ? [`options ${options.join(" ")}`] : []),
  ];
  return lines.join("\n") + "\n";
}
