/**
 * A single-node Kubernetes on this machine, from the pinned builds of `make tools-node`: etcd,
 * kube-apiserver, kube-controller-manager (with the host-path provisioner, so that volume claims
 * bind), kube-scheduler, containerd 2 + runc, the CNI bridge and host-local plugins, CoreDNS, and
 * the kubelet. Like a kind node, without a container around it.
 *
 * The pod network is a bridge the node owns (`ebkn0`, 10.244.0.1/24 by default): pods get
 * addresses on it, the host reaches them directly, and nothing is masqueraded or routed out of
 * the machine. The API server, the kubelet and CoreDNS listen on the bridge's address, so pods
 * reach them too. CoreDNS runs on the host (port 53 of the bridge address, the pods' `clusterDNS`)
 * and answers the cluster's names (`<pod>.<svc>.<ns>.svc.cluster.local`) only. There is no
 * kube-proxy: headless Services (what an EventBus's StatefulSet uses) need none.
 *
 * The daemons run detached, each with its log and pid file in the state dir
 * (`/var/lib/eventbus-kube-node` unless EVENTBUS_KUBE_NODE_DIR), so `up` returns and `down`, from
 * another process, stops them and removes what the node made: containers, mounts, network
 * namespaces, the bridge, the state dir.
 */
import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

import { stringify } from "yaml";

import { createCertificateAuthority, issueCertificate, CertificateUsage } from "../../src/secrets/index.js";
import { findBinary, toolsBinDir } from "../../src/tools/index.js";
import { buildImages, type BuiltImage } from "./images.js";

const execFileAsync = promisify(execFile);

/** The node's name, as `kubectl get nodes` shows it. */
export const NODE_NAME = "eventbus-node";
/** The bridge of the pod network. */
const BRIDGE = "ebkn0";
/** The Service IP range (no kube-proxy: ClusterIPs are allocated, not routed). */
const SERVICE_CIDR = "10.96.0.0/24";
const CLUSTER_DOMAIN = "cluster.local";
/** How long each daemon may take to be ready. */
const READY_TIMEOUT_MS = 120_000;

/** Where the node keeps its state, and what it listens on. */
export interface NodePaths {
  readonly dir: string;
  readonly pki: string;
  readonly logs: string;
  readonly run: string;
  readonly kubeconfig: string;
}

/** What `up` reports. */
export interface NodeInfo {
  readonly kubeconfig: string;
  readonly apiserver: string;
  readonly podCidr: string;
  readonly gateway: string;
  readonly dns: string;
  readonly images: readonly BuiltImage[];
}

/** The node's state dir and the files in it. */
export function nodePaths(dir = process.env.EVENTBUS_KUBE_NODE_DIR ?? "/var/lib/eventbus-kube-node"): NodePaths {
  return { dir, pki: join(dir, "pki"), logs: join(dir, "logs"), run: join(dir, "run"), kubeconfig: join(dir, "admin.kubeconfig") };
}

/** The pod network: a /24 whose first address is the bridge's (the gateway). */
function podNetwork(): { cidr: string; gateway: string } {
  const cidr = process.env.EVENTBUS_KUBE_NODE_POD_CIDR ?? "10.244.0.0/24";
  const match = /^(\d+)\.(\d+)\.(\d+)\.0\/24$/.exec(cidr);
  if (!match) throw new Error(`EVENTBUS_KUBE_NODE_POD_CIDR: must be a /24 such as 10.244.0.0/24, got ${cidr}`);
  return { cidr, gateway: `${match[1]}.${match[2]}.${match[3]}.1` };
}

interface Ports {
  readonly apiserver: number;
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly kubelet: number;
  readonly kubeletHealthz: number;
  readonly kubeProxyHealthz: number;
  readonly kubeProxyMetrics: number;
}

/**
 * Starts the node, or finds it running (then only checks it). Idempotent.
 * @param log one progress line at a time
 */
export async function nodeUp(log: (line: string) => void): Promise<NodeInfo> {
  if (process.getuid?.() !== 0) throw new Error("kube-node: runs as root (it makes a bridge, mounts and network namespaces)");
  const paths = nodePaths();
  const { cidr, gateway } = podNetwork();
  const images = await buildImages(log);
  const binary = (name: string) => findBinary(name);
  for (const dir of [paths.dir, paths.pki, paths.logs, paths.run]) await mkdir(dir, { recursive: true, mode: 0o700 });
  const portsFile = join(paths.dir, "ports.json");
  // The ports kept in the state dir stay (their daemons may be running); a listener added since
  // the state dir was made gets a free port of its own.
  const ports = await pickPorts(existsSync(portsFile) ? (JSON.parse(await readFile(portsFile, "utf8")) as Partial<Ports>) : {});
  await writeFile(portsFile, JSON.stringify(ports));
  const apiserverUrl = `https://${gateway}:${ports.apiserver}`;

  await ensureBridge(gateway, log);
  const pki = await ensurePki(paths, gateway, apiserverUrl);

  // etcd
  await daemon(paths, "etcd", binary("etcd"), [
    "--name=eventbus-node",
    `--data-dir=${join(paths.dir, "etcd")}`,
    `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
    `--initial-cluster=eventbus-node=http://127.0.0.1:${ports.etcdPeer}`,
    "--unsafe-no-fsync",
    "--log-level=warn",
  ]);
  await waitUntil("etcd", paths, async () => (await fetch(`http://127.0.0.1:${ports.etcdClient}/health`).catch(() => undefined))?.ok === true);
  log("kube-node: etcd ready");

  // kube-apiserver
  await daemon(paths, "kube-apiserver", binary("kube-apiserver"), [
    `--bind-address=${gateway}`,
    `--advertise-address=${gateway}`,
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${paths.pki}`,
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.caFile}`,
    `--kubelet-client-certificate=${pki.kubeletClientCert}`,
    `--kubelet-client-key=${pki.kubeletClientKey}`,
    // The kubelet by its address (logs, exec): the node's name resolves nowhere.
    "--kubelet-preferred-address-types=InternalIP",
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--service-account-issuer=https://kubernetes.default.svc.${CLUSTER_DOMAIN}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    `--token-auth-file=${pki.tokens}`,
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    "--allow-privileged=true",
    "--profiling=false",
  ]);
  await waitUntil("kube-apiserver", paths, async () => (await kubeGet(apiserverUrl, pki, "/readyz"))?.status === 200);
  log(`kube-node: kube-apiserver ready at ${apiserverUrl}`);

  // kube-controller-manager and kube-scheduler, with the admin's kubeconfig.
  await daemon(paths, "kube-controller-manager", binary("kube-controller-manager"), [
    `--kubeconfig=${paths.kubeconfig}`,
    "--leader-elect=false",
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caFile}`,
    "--use-service-account-credentials=true",
    "--enable-hostpath-provisioner=true",
    `--cluster-name=eventbus-node`,
    "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
    "--bind-address=127.0.0.1",
    "--secure-port=0",
  ]);
  await daemon(paths, "kube-scheduler", binary("kube-scheduler"), [
    `--kubeconfig=${paths.kubeconfig}`,
    "--leader-elect=false",
    "--bind-address=127.0.0.1",
    "--secure-port=0",
  ]);

  // containerd, then the images into its k8s.io namespace.
  const containerdSock = join(paths.run, "containerd.sock");
  const cniBin = cniBinDir();
  await writeFile(join(paths.dir, "containerd.toml"), containerdConfig(paths, containerdSock, cniBin));
  await mkdir(join(paths.dir, "cni", "net.d"), { recursive: true });
  await writeFile(join(paths.dir, "cni", "net.d", "10-eventbus-node.conflist"), cniConfig(paths, cidr, gateway));
  await daemon(paths, "containerd", binary("containerd"), ["--config", join(paths.dir, "containerd.toml")]);
  await waitUntil(
    "containerd",
    paths,
    async () =>
      await ctr(containerdSock, ["version"]).then(
        () => true,
        () => false,
      ),
  );
  log("kube-node: containerd ready");
  await importImages(containerdSock, images, log);

  // kube-proxy, nftables mode: Services' ClusterIPs routed to their endpoints, so that a pod
  // reaches the API server through the `kubernetes` Service (KUBERNETES_SERVICE_HOST, what
  // in-cluster clients read), as on any cluster.
  await daemon(paths, "kube-proxy", binary("kube-proxy"), [
    `--kubeconfig=${paths.kubeconfig}`,
    "--proxy-mode=nftables",
    `--cluster-cidr=${cidr}`,
    `--hostname-override=${NODE_NAME}`,
    `--bind-address=${gateway}`,
    `--healthz-bind-address=127.0.0.1:${ports.kubeProxyHealthz}`,
    `--metrics-bind-address=127.0.0.1:${ports.kubeProxyMetrics}`,
    // NodePorts on the bridge's address only: nothing of the node listens on the machine's others.
    `--nodeport-addresses=${gateway}/32`,
  ]);
  await waitUntil("kube-proxy", paths, async () => (await fetch(`http://127.0.0.1:${ports.kubeProxyHealthz}/livez`).catch(() => undefined))?.ok === true);
  log("kube-node: kube-proxy ready (nftables)");

  // CoreDNS on the bridge's address.
  await writeFile(join(paths.dir, "Corefile"), corefile(paths, gateway));
  await daemon(paths, "coredns", binary("coredns"), ["-conf", join(paths.dir, "Corefile")]);

  // The kubelet.
  await writeFile(join(paths.dir, "kubelet.yaml"), kubeletConfig(paths, pki, ports, gateway, containerdSock));
  await daemon(paths, "kubelet", binary("kubelet"), [
    `--config=${join(paths.dir, "kubelet.yaml")}`,
    `--kubeconfig=${join(paths.dir, "kubelet.kubeconfig")}`,
    `--root-dir=${join(paths.dir, "kubelet")}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${gateway}`,
    "--v=1",
  ]);
  await waitUntil("kubelet", paths, async () => {
    const node = await kubeGet(apiserverUrl, pki, `/api/v1/nodes/${NODE_NAME}`);
    if (node?.status !== 200) return false;
    const conditions = (JSON.parse(node.text) as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
    return conditions.some((c) => c.type === "Ready" && c.status === "True");
  });
  log(`kube-node: node ${NODE_NAME} Ready`);
  await ensureStorageClass(apiserverUrl, pki);
  // Pods are admitted only once their namespace's `default` ServiceAccount exists.
  await waitUntil(
    "kube-controller-manager",
    paths,
    async () => (await kubeGet(apiserverUrl, pki, "/api/v1/namespaces/default/serviceaccounts/default"))?.status === 200,
  );
  return { kubeconfig: paths.kubeconfig, apiserver: apiserverUrl, podCidr: cidr, gateway, dns: gateway, images };
}

/** Stops every daemon and removes what the node made. Idempotent. */
export async function nodeDown(log: (line: string) => void): Promise<void> {
  const paths = nodePaths();
  if (!existsSync(paths.dir)) {
    await deleteBridge();
    log("kube-node: not running");
    return;
  }
  // The volumes' directories: kube-controller-manager's host-path provisioner makes each claim's
  // under /tmp/hostpath_pv/ (a path fixed in its code), outside the state dir.
  const volumes = await hostPathVolumes(paths);
  // The kubelet first, so that it restarts nothing; then every container, then the rest.
  await stopDaemon(paths, "kubelet");
  const sock = join(paths.run, "containerd.sock");
  if (existsSync(sock)) {
    const tasks = await ctr(sock, ["-n", "k8s.io", "tasks", "list", "-q"]).catch(() => "");
    for (const id of tasks.split("\n").filter(Boolean)) await ctr(sock, ["-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id]).catch(() => undefined);
  }
  for (const name of ["kube-proxy", "coredns", "kube-scheduler", "kube-controller-manager", "containerd", "kube-apiserver", "etcd"])
    await stopDaemon(paths, name);
  // kube-proxy's nftables tables (`kube-proxy` in the ip and ip6 families) go with it.
  await execFileAsync(findBinary("kube-proxy"), ["--cleanup", "--proxy-mode=nftables"]).catch(() => undefined);
  await killShims(paths.dir);
  await unmountUnder(paths.dir);
  await removeNetns();
  await deleteBridge();
  for (const path of volumes) await rm(path, { recursive: true, force: true });
  await rm(paths.dir, { recursive: true, force: true });
  log(`kube-node: down; ${paths.dir} removed`);
}

/** The host paths of the node's PersistentVolumes made by the host-path provisioner; none when the API server does not answer. */
async function hostPathVolumes(paths: NodePaths): Promise<string[]> {
  const portsFile = join(paths.dir, "ports.json");
  if (!existsSync(portsFile) || !existsSync(join(paths.pki, "tokens.csv"))) return [];
  const ports = JSON.parse(await readFile(portsFile, "utf8")) as Ports;
  const { gateway } = podNetwork();
  const pki = await ensurePki(paths, gateway, "");
  const res = await kubeGet(`https://${gateway}:${ports.apiserver}`, pki, "/api/v1/persistentvolumes");
  if (res?.status !== 200) return [];
  const list = JSON.parse(res.text) as { items: { spec?: { hostPath?: { path?: string } } }[] };
  return list.items.map((pv) => pv.spec?.hostPath?.path ?? "").filter((path) => path.startsWith("/tmp/hostpath_pv/"));
}

// ---------------------------------------------------------------------------------------------
// Daemons

async function daemon(paths: NodePaths, name: string, cmd: string, args: readonly string[]): Promise<void> {
  const pidFile = join(paths.run, `${name}.pid`);
  if (await runningPid(pidFile)) return;
  const log = openSync(join(paths.logs, `${name}.log`), "a");
  try {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ["ignore", log, log],
      cwd: paths.dir,
      // containerd finds its shim, runc and the CNI plugins on PATH.
      env: { ...process.env, PATH: `${toolsBinDir()}:${process.env.PATH ?? ""}` },
    });
    child.unref();
    await writeFile(pidFile, `${child.pid}\n`);
  } finally {
    closeSync(log);
  }
}

async function runningPid(pidFile: string): Promise<number | undefined> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function stopDaemon(paths: NodePaths, name: string): Promise<void> {
  const pidFile = join(paths.run, `${name}.pid`);
  const pid = await runningPid(pidFile);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await runningPid(pidFile)) !== undefined) await sleep(100);
    if ((await runningPid(pidFile)) !== undefined) process.kill(pid, "SIGKILL");
  }
  await rm(pidFile, { force: true });
}

async function waitUntil(name: string, paths: NodePaths, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    if ((await runningPid(join(paths.run, `${name}.pid`))) === undefined) break;
    await sleep(250);
  }
  const tail = (await readFile(join(paths.logs, `${name}.log`), "utf8").catch(() => "")).split("\n").slice(-15).join("\n");
  throw new Error(`kube-node: ${name} is not ready (log ${join(paths.logs, `${name}.log`)}):\n${tail}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Free TCP ports for the node's listeners, picked once and kept in the state dir: `kept` are taken as they are. */
async function pickPorts(kept: Partial<Ports>): Promise<Ports> {
  const taken = new Set<number>(Object.values(kept));
  const free = async (): Promise<number> => {
    for (;;) {
      const port = await new Promise<number>((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, () => {
          const address = server.address();
          server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
        });
      });
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  return {
    apiserver: kept.apiserver ?? (await free()),
    etcdClient: kept.etcdClient ?? (await free()),
    etcdPeer: kept.etcdPeer ?? (await free()),
    kubelet: kept.kubelet ?? (await free()),
    kubeletHealthz: kept.kubeletHealthz ?? (await free()),
    kubeProxyHealthz: kept.kubeProxyHealthz ?? (await free()),
    kubeProxyMetrics: kept.kubeProxyMetrics ?? (await free()),
  };
}

// ---------------------------------------------------------------------------------------------
// Network

async function ensureBridge(gateway: string, log: (line: string) => void): Promise<void> {
  const exists = await execFileAsync("ip", ["link", "show", BRIDGE]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await execFileAsync("ip", ["link", "add", BRIDGE, "type", "bridge"]);
    log(`kube-node: bridge ${BRIDGE} made`);
  }
  const { stdout } = await execFileAsync("ip", ["-br", "addr", "show", BRIDGE]);
  if (!stdout.includes(`${gateway}/24`)) await execFileAsync("ip", ["addr", "add", `${gateway}/24`, "dev", BRIDGE]);
  await execFileAsync("ip", ["link", "set", BRIDGE, "up"]);
  // The bridge plugin's pods talk to each other through it; bridged frames need no iptables.
  await writeFile("/proc/sys/net/ipv4/ip_forward", "1").catch(() => undefined);
}

async function deleteBridge(): Promise<void> {
  await execFileAsync("ip", ["link", "delete", BRIDGE]).catch(() => undefined);
}

/** The network namespaces containerd made for pods (`cni-<uuid>` under /var/run/netns). */
async function removeNetns(): Promise<void> {
  const names = await readdir("/var/run/netns").catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith("cni-"))) {
    await execFileAsync("umount", [join("/var/run/netns", name)]).catch(() => undefined);
    await rm(join("/var/run/netns", name), { force: true });
  }
}

/** Every mount below `dir`, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile("/proc/mounts", "utf8"))
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .map((path) => path.replaceAll("\\040", " "))
    .filter((path) => path === dir || path.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const path of mounts) await execFileAsync("umount", ["-l", path]).catch(() => undefined);
}

/** containerd's shims outlive it: each one whose command line names the state dir. */
async function killShims(dir: string): Promise<void> {
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(join("/proc", entry, "cmdline"), "utf8").catch(() => "");
    if (cmdline.startsWith(join(toolsBinDir(), "containerd-shim")) || (cmdline.includes("containerd-shim-runc-v2") && cmdline.includes(dir))) {
      try {
        process.kill(Number(entry), "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Certificates and kubeconfigs

interface Pki {
  readonly caFile: string;
  readonly caPem: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly kubeletClientCert: string;
  readonly kubeletClientKey: string;
  readonly kubeletServingCert: string;
  readonly kubeletServingKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  readonly tokens: string;
  readonly adminToken: string;
}

/** The CA, the serving and client certificates, the service-account keys and the static tokens; made once. */
async function ensurePki(paths: NodePaths, gateway: string, apiserverUrl: string): Promise<Pki> {
  const file = (name: string) => join(paths.pki, name);
  const pki: Pki = {
    caFile: file("ca.crt"),
    caPem: "",
    apiserverCert: file("apiserver.crt"),
    apiserverKey: file("apiserver.key"),
    kubeletClientCert: file("apiserver-kubelet-client.crt"),
    kubeletClientKey: file("apiserver-kubelet-client.key"),
    kubeletServingCert: file("kubelet.crt"),
    kubeletServingKey: file("kubelet.key"),
    serviceAccountKey: file("sa.key"),
    serviceAccountPub: file("sa.pub"),
    tokens: file("tokens.csv"),
    adminToken: "",
  };
  if (!existsSync(pki.tokens)) {
    const ca = await createCertificateAuthority({ commonName: "eventbus-kube-node-ca", validityDays: 365 });
    const serving = await issueCertificate(ca, {
      commonName: "kube-apiserver",
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", `kubernetes.default.svc.${CLUSTER_DOMAIN}`],
      ipAddresses: ["127.0.0.1", gateway, SERVICE_CIDR.replace(/0\/24$/, "1")],
      usage: CertificateUsage.Server,
      validityDays: 365,
    });
    const kubeletClient = await issueCertificate(ca, { commonName: "kube-apiserver-kubelet-client", usage: CertificateUsage.Client, validityDays: 365 });
    const kubeletServing = await issueCertificate(ca, {
      commonName: NODE_NAME,
      dnsNames: [NODE_NAME],
      ipAddresses: [gateway],
      usage: CertificateUsage.Server,
      validityDays: 365,
    });
    const sa = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    await writeFile(pki.caFile, ca.certPem);
    for (const [path, text] of [
      [pki.apiserverCert, serving.certPem],
      [pki.apiserverKey, serving.keyPem],
      [pki.kubeletClientCert, kubeletClient.certPem],
      [pki.kubeletClientKey, kubeletClient.keyPem],
      [pki.kubeletServingCert, kubeletServing.certPem],
      [pki.kubeletServingKey, kubeletServing.keyPem],
      [pki.serviceAccountKey, sa.privateKey.export({ type: "pkcs8", format: "pem" }) as string],
      [pki.serviceAccountPub, sa.publicKey.export({ type: "spki", format: "pem" }) as string],
    ] as const)
      await writeFile(path, text, { mode: 0o600 });
    const token = () => randomBytes(24).toString("base64url");
    const admin = token();
    const kubelet = token();
    // token,user,uid,"groups": the admin (cluster-admin through system:masters) and the kubelet's
    // node identity, which the Node authorizer and NodeRestriction expect.
    await writeFile(pki.tokens, `${admin},eventbus-admin,eventbus-admin,"system:masters"\n${kubelet},system:node:${NODE_NAME},kubelet,"system:nodes"\n`, {
      mode: 0o600,
    });
    await writeFile(paths.kubeconfig, kubeconfig(apiserverUrl, ca.certPem, "eventbus-admin", admin), { mode: 0o600 });
    await writeFile(join(paths.dir, "kubelet.kubeconfig"), kubeconfig(apiserverUrl, ca.certPem, `system:node:${NODE_NAME}`, kubelet), { mode: 0o600 });
  }
  const caPem = await readFile(pki.caFile, "utf8");
  const adminToken = (await readFile(pki.tokens, "utf8")).split(",")[0] ?? "";
  return { ...pki, caPem, adminToken };
}

function kubeconfig(server: string, caPem: string, user: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "eventbus-node", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "eventbus-node", context: { cluster: "eventbus-node", user } }],
    "current-context": "eventbus-node",
  });
}

/** One request to the API server as the admin; undefined when it does not answer. */
function kubeRequest(url: string, pki: Pki, method: string, path: string, body?: unknown): Promise<{ status: number; text: string } | undefined> {
  const headers: Record<string, string> = { authorization: `Bearer ${pki.adminToken}`, ...(body !== undefined && { "content-type": "application/json" }) };
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { method, ca: pki.caPem, headers, timeout: 5_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function kubeGet(url: string, pki: Pki, path: string): Promise<{ status: number; text: string } | undefined> {
  return kubeRequest(url, pki, "GET", path);
}

/** The default StorageClass `standard`, served by kube-controller-manager's host-path provisioner. */
async function ensureStorageClass(url: string, pki: Pki): Promise<void> {
  const res = await kubeRequest(url, pki, "POST", "/apis/storage.k8s.io/v1/storageclasses", {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    provisioner: "kubernetes.io/host-path",
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
  });
  if (res?.status !== 201 && res?.status !== 409)
    throw new Error(`kube-node: StorageClass standard: ${res === undefined ? "no answer" : `HTTP ${res.status}`}`);
}

// ---------------------------------------------------------------------------------------------
// Configuration files

/** The CNI plugins' directory, where the installer links them (binaries.json's `linkDir`). */
function cniBinDir(): string {
  return dirname(findBinary("bridge"));
}

function containerdConfig(paths: NodePaths, sock: string, cniBin: string): string {
  return `version = 3
root = "${join(paths.dir, "containerd", "root")}"
state = "${join(paths.run, "containerd")}"

[grpc]
  address = "${sock}"

[ttrpc]
  address = "${sock}.ttrpc"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "registry.k8s.io/pause:3.10.2"

[plugins."io.containerd.cri.v1.runtime"]
  # This machine refuses a negative oom_score_adj even to root (EIO), and runc fails to start
  # the pause container with the -998 the CRI asks for: bound it below by containerd's own (0).
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "${findBinary("runc")}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["${cniBin}"]
    conf_dir = "${join(paths.dir, "cni", "net.d")}"
`;
}

function cniConfig(paths: NodePaths, cidr: string, gateway: string): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "eventbus-node",
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          // A route to the Service range only (kube-proxy's ClusterIPs, through the host): pods
          // have no default route, so nothing leaves the machine from them.
          ipam: { type: "host-local", ranges: [[{ subnet: cidr, gateway }]], routes: [{ dst: SERVICE_CIDR }], dataDir: join(paths.dir, "cni", "ipam") },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

function corefile(paths: NodePaths, gateway: string): string {
  return `.:53 {
    bind ${gateway}
    errors
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${paths.kubeconfig} eventbus-node
        pods insecure
        ttl 5
    }
}
`;
}

function kubeletConfig(paths: NodePaths, pki: Pki, ports: Ports, gateway: string, sock: string): string {
  return stringify({
    // Inside the state dir (not /var/log/pods), so that `down` removes the containers' logs too.
    podLogsDir: join(paths.dir, "pod-logs"),
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: gateway,
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: ports.kubeletHealthz,
    tlsCertFile: pki.kubeletServingCert,
    tlsPrivateKeyFile: pki.kubeletServingKey,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: pki.caFile } },
    authorization: { mode: "AlwaysAllow" },
    containerRuntimeEndpoint: `unix://${sock}`,
    // This machine mounts cgroup v1 controllers (a v2 hierarchy beside them holds none), and no
    // systemd manages it: the cgroupfs driver, and v1 allowed (kubelet 1.35+ refuses it by default).
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    failSwapOn: false,
    clusterDomain: CLUSTER_DOMAIN,
    clusterDNS: [gateway],
    resolvConf: "",
    // A test node on a shared disk: evict only when it is really full.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    maxPods: 50,
    registerNode: true,
    staticPodPath: "",
  });
}

// ---------------------------------------------------------------------------------------------
// Images

/**
 * SIGKILLs a container's process through containerd (a `containerd://<id>` of a pod's
 * `containerStatuses`), as a crash would: the kubelet then restarts it in the same pod.
 */
export async function killContainer(containerId: string): Promise<void> {
  const id = containerId.replace(/^containerd:\/\//, "");
  await ctr(join(nodePaths().run, "containerd.sock"), ["-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id]);
}

async function ctr(sock: string, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(findBinary("ctr"), ["--address", sock, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Imports each image whose digest containerd does not hold under its name yet. */
async function importImages(sock: string, images: readonly BuiltImage[], log: (line: string) => void): Promise<void> {
  const listed = await ctr(sock, ["-n", "k8s.io", "images", "list"]);
  for (const image of images) {
    const line = listed.split("\n").find((l) => l.split(/\s+/)[0] === image.reference);
    if (line?.includes(image.manifestDigest)) continue;
    await ctr(sock, ["-n", "k8s.io", "images", "import", "--all-platforms", image.archive]);
    log(`kube-node: imported ${image.reference}`);
  }
}
