// What docker's commands show of a bridged container: PORTS, box port, inspect's NetworkSettings,
// --add-host host-gateway, -P. Inside a network namespace of the test's (test/net/netns.ts).
import { describe, expect, test } from "bun:test";
import { ALPINE_TARBALL, withRoot } from "../e2e/harness";
import { boxIn, inNetns } from "../net/netns";

describe("a bridged container, as docker shows it", () => {
  test("ps PORTS, box port, inspect's IPAddress, Gateway and Ports; --add-host NAME:host-gateway; -P", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        const b = (args: string[]) => boxIn(ns, root, args);
        const r = await b(["run", "-d", "--network", "bridge", "--name", "web", "-p", "8080:80", "-p", "127.0.0.1:5353:53/udp", "--add-host", "gw:host-gateway", "sleep", "30"]);
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect((await b(["ps", "--format", "{{.Names}} {{.Networks}} {{.Ports}}"])).stdout).toBe("web bridge 0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp\n");
        expect((await b(["port", "web"])).stdout).toBe("80/tcp -> 0.0.0.0:8080\n53/udp -> 127.0.0.1:5353\n");
        expect((await b(["port", "web", "53/udp"])).stdout).toBe("127.0.0.1:5353\n");
        const [doc] = JSON.parse((await b(["inspect", "web"])).stdout);
        const ns_ = doc.NetworkSettings;
        expect(ns_.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect(ns_.Gateway).toMatch(/^\d+\.\d+\.\d+\.1$/);
        expect(ns_.IPPrefixLen).toBe(24);
        expect(ns_.Ports).toEqual({ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "53/udp": [{ HostIp: "127.0.0.1", HostPort: "5353" }] });
        expect(ns_.Networks.bridge).toMatchObject({ IPAddress: ns_.IPAddress, Gateway: ns_.Gateway });
        expect(doc.HostConfig.PortBindings).toEqual(ns_.Ports);
        const inside = await b(["exec", "web", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; grep gw /etc/hosts"]);
        expect(inside.stdout).toBe(`${ns_.IPAddress}/24\n${ns_.Gateway}\tgw\n`);
        // -P publishes what the image exposes, each on a free host port: the embedded Alpine exposes
        // nothing, an image imported with EXPOSE its ports.
        const none = await b(["run", "-d", "--network", "bridge", "--name", "none", "-P", "sleep", "30"]);
        expect(none.code).toBe(0);
        expect((await b(["inspect", "-f", "{{.HostConfig.PublishAllPorts}} {{json .NetworkSettings.Ports}}", "none"])).stdout).toBe("true {}\n");
        expect((await b(["import", "-c", "EXPOSE 80", "-c", "EXPOSE 53/udp", ALPINE_TARBALL, "exposing:1"])).code).toBe(0);
        expect((await b(["run", "-d", "--network", "bridge", "--name", "all", "-P", "-p", "8081:80", "exposing:1", "sleep", "30"])).code).toBe(0);
        const ports = (await b(["port", "all"])).stdout;
        expect(ports).toMatch(/^80\/tcp -> 0\.0\.0\.0:8081\n53\/udp -> 0\.0\.0\.0:\d+\n$/);
        expect(Number(/:(\d+)\n$/.exec(ports)![1])).toBeGreaterThan(1024);
        expect((await b(["run", "-P", "--network", "none", "alpine", "true"])).stderr).toBe("box: -P needs --network bridge: only a bridged container has ports to publish\n");
        // Stopped, it publishes nothing (docker's PORTS is empty then).
        await b(["stop", "-t", "0", "web"]);
        expect((await b(["ps", "-a", "--filter", "name=web", "--format", "[{{.Ports}}]"])).stdout).toBe("[]\n");
        expect((await b(["rm", "-f", "web", "none", "all"])).code).toBe(0);
      }, root),
    ), 60_000);
});
