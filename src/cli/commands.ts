/**
 * Every command of the `mayfly` CLI, declared once: the parser, `--help` and the dispatcher read
 * these declarations. Implementations are imported only when their command runs, so a verb loads
 * no more than it needs (`mayfly version` loads none of them).
 */
import type { CommandDef, CommandFn, FlagDef } from './command-line/definition.js';

type Module = Record<string, unknown>;
/** `lazy(() => import('./x.js'), 'name')`: the function `name` of a module loaded on first use */
const lazy =
  (load: () => Promise<Module>, name: string): (() => Promise<CommandFn>) =>
  async () =>
    (await load())[name] as CommandFn;

const containerVerbs = () => import('./container-commands.js');
const runVerbs = () => import('./run-command.js');
const imageVerbs = () => import('./image-commands.js');
const storeVerbs = () => import('./image-store-commands.js');
const buildVerbs = () => import('./build-command.js');
const networkVerbs = () => import('./network-commands.js');
const volumeVerbs = () => import('./volume-commands.js');
const composeVerbs = () => import('./compose-command.js');
const inspectVerbs = () => import('./inspect-command.js');

const FORMAT = (what: string): FlagDef => ({
  long: 'format',
  kind: 'value',
  placeholder: 'string',
  help: `format the output: 'table' (default), 'json', a Go template ('{{.${what}}}', '{{json .}}') or 'table {{.${what}}}\\t…'`,
});
const QUIET = (what: string): FlagDef => ({ long: 'quiet', short: 'q', kind: 'bool', help: `only print ${what}` });
const FORCE = (help: string): FlagDef => ({ long: 'force', short: 'f', kind: 'bool', help });
const NO_TRUNC: FlagDef = { long: 'no-trunc', kind: 'bool', help: "don't truncate the output" };

/** run and create: what a container is made of */
const INTERACTIVE: FlagDef = { long: 'interactive', short: 'i', kind: 'bool', help: 'keep stdin open and stream it in (EOF closes it)' };
const TTY: FlagDef = { long: 'tty', short: 't', kind: 'bool', help: "give the process a pseudo-terminal (the container's own devpts) as its controlling terminal; with -i this terminal is raw while attached, Ctrl-P Ctrl-Q detaches" };

export const CONTAINER_FLAGS: FlagDef[] = [
  { long: 'name', kind: 'value', help: 'assign a name to the container' },
  INTERACTIVE,
  TTY,
  { long: 'rm', kind: 'bool', help: 'remove the container when it exits (--rm=false keeps it, as without --rm)' },
  { long: 'env', short: 'e', kind: 'list', placeholder: 'list', help: 'set an environment variable: KEY=VALUE, or KEY to copy it from here' },
  { long: 'env-file', kind: 'list', help: 'read environment variables from a file of KEY=VALUE lines' },
  { long: 'publish', short: 'p', kind: 'list', placeholder: 'list', help: 'publish a container port: [IP:][HOST:]CONTAINER[/udp] (HOST 0 or left out: any free port)' },
  { long: 'publish-all', short: 'P', kind: 'bool', help: 'publish every exposed port (the image\'s EXPOSE and --expose) on a free port' },
  { long: 'expose', kind: 'list', help: 'declare a container port' },
  { long: 'volume', short: 'v', kind: 'list', help: 'bind mount (SRC an absolute path) or named volume (SRC a name): SRC:DST[:ro]' },
  { long: 'tmpfs', kind: 'list', help: 'mount a tmpfs: PATH[:size=64m,mode=1777]' },
  {
    long: 'mount',
    kind: 'list',
    help: 'mount a bind, volume or tmpfs: type=bind|volume|tmpfs,source=…,target=…[,readonly] (src=, dst=, destination=, tmpfs-size=, tmpfs-mode=; a volume is created on first use, one without a source is anonymous)',
  },
  {
    long: 'network',
    aliases: ['net'],
    kind: 'value',
    help: "bridge (Docker's default network: members reach each other by address, and the outside world), none (loopback only), host, or a network made with `mayfly network create` (members reach each other by name too)",
    default: 'bridge',
  },
  { long: 'network-alias', aliases: ['net-alias'], kind: 'list', help: 'another name for the container on its network' },
  { long: 'user', short: 'u', kind: 'value', placeholder: 'string', help: 'run as this user: name or uid[:gid] (resolved in the container)' },
  { long: 'workdir', short: 'w', kind: 'value', help: 'working directory inside the container' },
  { long: 'hostname', short: 'h', kind: 'value', help: 'the container\'s host name' },
  { long: 'entrypoint', kind: 'value', help: "replace the image's entrypoint" },
  { long: 'label', short: 'l', kind: 'list', help: 'set a label: KEY=VALUE' },
  { long: 'memory', short: 'm', kind: 'value', type: 'bytes', help: 'memory limit (needs cgroups: see mayfly doctor)' },
  { long: 'cpus', kind: 'value', type: 'number', help: 'CPU limit, e.g. 1.5' },
  { long: 'pids-limit', kind: 'value', type: 'int', help: 'process limit' },
  { long: 'init', kind: 'bool', help: 'run a tiny init (tini) as PID 1 that forwards signals and reaps zombies' },
  { long: 'stop-signal', kind: 'value', help: 'signal to stop the container', default: 'SIGTERM' },
  { long: 'stop-timeout', kind: 'value', type: 'number', help: 'seconds to wait for it to stop before SIGKILL', default: '10' },
  { long: 'cap-add', kind: 'list', help: "add a capability to Docker's default set: NET_ADMIN, CAP_SYS_PTRACE, ALL" },
  { long: 'cap-drop', kind: 'list', help: 'drop a capability (or ALL)' },
  { long: 'security-opt', kind: 'list', help: "seccomp=unconfined: no seccomp filter (the default is Docker's profile); no-new-privileges" },
  { long: 'privileged', kind: 'bool', help: 'every capability, no seccomp filter, /proc and /sys not masked or read-only' },
  { long: 'add-host', kind: 'list', help: "an /etc/hosts entry NAME:IP; IP host-gateway: the host's loopback services (not reachable otherwise), on a network with outbound access" },
  { long: 'pull', kind: 'value', choices: ['missing', 'always', 'never'], help: 'pull the image before running', default: 'missing' },
  { long: 'platform', kind: 'value', help: 'pull this platform of the image: os/arch[/variant]' },
  { long: 'rootfs', kind: 'value', placeholder: 'DIR', help: 'run a plain directory as the container\'s only (read-only) layer, instead of an IMAGE' },
];

const RUN: CommandDef = {
  name: 'run',
  summary: 'Create and run a new container from an image',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description:
    'Without -d, streams the container\'s output and exits with its exit code (125: mayfly failed, 126: the command cannot be run, 127: not found).\nEverything after IMAGE is the command, options included.',
  interspersed: false,
  flags: [{ long: 'detach', short: 'd', kind: 'bool', help: 'run in the background and print the container ID' }, ...CONTAINER_FLAGS],
  load: lazy(runVerbs, 'runCommand'),
  examples: ['mayfly run --rm debian echo hello', 'mayfly run -d -p 8080:80 --name web nginx'],
};

const CREATE: CommandDef = {
  name: 'create',
  summary: 'Create a new container (not started: mayfly start runs it)',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  interspersed: false,
  flags: CONTAINER_FLAGS,
  load: lazy(runVerbs, 'createCommand'),
};

const PS: CommandDef = {
  name: 'ps',
  summary: 'List containers',
  usage: '[OPTIONS]',
  maxArgs: 0,
  flags: [
    { long: 'all', short: 'a', kind: 'bool', help: 'show all containers (only running ones by default)' },
    QUIET('container IDs'),
    FORMAT('Names'),
    { long: 'filter', short: 'f', kind: 'list', help: 'filter: id=, name=, label=KEY[=VALUE], status=(created|running|paused|exited), ancestor=IMAGE' },
    { long: 'last', short: 'n', kind: 'value', type: 'int', help: 'show the n last created containers (all states)', default: '-1' },
    { long: 'latest', short: 'l', kind: 'bool', help: 'show the latest created container (all states)' },
    { long: 'size', short: 's', kind: 'bool', help: "display sizes: the writable layer's, and the virtual size (the image's plus that)" },
    NO_TRUNC,
  ],
  load: lazy(() => import('./ps-command.js'), 'psCommand'),
};

const lifecycle = (name: string, summary: string, flags: FlagDef[] = []): CommandDef => ({
  name,
  summary,
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  minArgs: 1,
  flags,
  load: lazy(containerVerbs, `${name}Command`),
});

const TIME: FlagDef = { long: 'time', short: 't', aliases: ['timeout'], kind: 'value', type: 'uint', help: 'seconds to wait before killing the container' };
const SIGNAL: FlagDef = { long: 'signal', short: 's', kind: 'value', help: 'signal to send (name or number)' };

const STOP = lifecycle('stop', 'Stop one or more running containers', [TIME, SIGNAL]);
const START = lifecycle('start', 'Start one or more stopped containers', [
  { long: 'attach', short: 'a', kind: 'bool', help: "attach to its output (and with -i its stdin) and exit with its exit code; Ctrl-P Ctrl-Q detaches" },
  { long: 'interactive', short: 'i', kind: 'bool', help: "attach the container's stdin (it was made with -i)" },
]);

const ATTACH: CommandDef = {
  name: 'attach',
  summary: "Attach this terminal's input and output to a running container",
  usage: '[OPTIONS] CONTAINER',
  description: 'Output from now on; stdin when the container was made with -i; its terminal when made with -t (Ctrl-P Ctrl-Q detaches and leaves it running).',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { long: 'no-stdin', kind: 'bool', help: 'do not attach stdin' },
    { long: 'sig-proxy', kind: 'bool', help: 'forward the signals this process receives to the container (--sig-proxy=false: they end only this client)', default: 'true' },
  ],
  load: lazy(() => import('./attach-commands.js'), 'attachCommand'),
};
const RESTART = lifecycle('restart', 'Restart one or more containers', [TIME, SIGNAL]);
const PAUSE = lifecycle('pause', 'Pause all processes within one or more containers');
const UNPAUSE = lifecycle('unpause', 'Unpause all processes within one or more containers');
const KILL = lifecycle('kill', 'Kill one or more running containers', [{ ...SIGNAL, default: 'SIGKILL' }]);
const RM: CommandDef = {
  ...lifecycle('rm', 'Remove one or more containers', [
    FORCE('remove running containers too (killed first)'),
    { long: 'volumes', short: 'v', kind: 'bool', help: 'remove the anonymous volumes of the container too' },
  ]),
  aliases: ['remove'],
};

const LOGS: CommandDef = {
  name: 'logs',
  summary: "Fetch the logs of a container",
  usage: '[OPTIONS] CONTAINER',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { long: 'follow', short: 'f', kind: 'bool', help: 'follow the output' },
    { long: 'timestamps', short: 't', kind: 'bool', help: 'show timestamps' },
    { long: 'tail', short: 'n', kind: 'value', help: 'number of lines to show from the end (or "all")', default: 'all' },
    { long: 'since', kind: 'value', type: 'time', help: 'only lines since a time (2024-05-01T10:00:00Z, a Unix timestamp) or for a duration (10m, 1h30m)' },
    { long: 'until', kind: 'value', type: 'time', help: 'only lines before a time (2024-05-01T10:00:00Z, a Unix timestamp) or a duration ago (10m)' },
  ],
  load: lazy(containerVerbs, 'logsCommand'),
};

const EXEC: CommandDef = {
  name: 'exec',
  summary: 'Execute a command in a running container',
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  interspersed: false,
  minArgs: 2,
  flags: [
    { long: 'env', short: 'e', kind: 'list', help: 'set an environment variable: KEY=VALUE' },
    { long: 'user', short: 'u', kind: 'value', help: 'run as this user: name or uid[:gid]' },
    { long: 'workdir', short: 'w', kind: 'value', help: 'working directory inside the container' },
    INTERACTIVE,
    TTY,
  ],
  load: lazy(containerVerbs, 'execCommand'),
};

const PORT: CommandDef = {
  name: 'port',
  summary: 'List port mappings or a specific mapping for the container',
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  minArgs: 1,
  maxArgs: 2,
  load: lazy(containerVerbs, 'portCommand'),
};

const STATS: CommandDef = {
  name: 'stats',
  summary: "Display a live stream of containers' resource usage",
  usage: '[OPTIONS] [CONTAINER...]',
  flags: [
    { long: 'all', short: 'a', kind: 'bool', help: 'show all containers (running ones by default)' },
    { long: 'no-stream', kind: 'bool', help: 'print one sample and exit' },
    FORMAT('Name'),
    NO_TRUNC,
  ],
  load: lazy(containerVerbs, 'statsCommand'),
};

const COMMIT: CommandDef = {
  name: 'commit',
  summary: "Create a new image from a container's changes",
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  minArgs: 1,
  maxArgs: 2,
  flags: [
    { long: 'change', short: 'c', kind: 'list', help: 'apply a Dockerfile instruction to the image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL' },
    { long: 'message', short: 'm', kind: 'value', help: 'commit message (the history entry\'s comment)' },
    { long: 'author', short: 'a', kind: 'value', help: 'author, e.g. "Ana <ana@example.com>"' },
    { long: 'pause', short: 'p', kind: 'bool', help: 'pause the container while committing (--pause=false does not)', default: 'true' },
  ],
  load: lazy(() => import('./commit-command.js'), 'commitCommand'),
  examples: ["mayfly commit -c 'CMD [\"nginx\", \"-g\", \"daemon off;\"]' -c 'EXPOSE 80' web my-nginx:v2"],
};

const CP: CommandDef = {
  name: 'cp',
  summary: 'Copy files or folders between a container and the host',
  usage: 'CONTAINER:SRC_PATH DEST_PATH|-  or  SRC_PATH|- CONTAINER:DEST_PATH',
  description: 'Into an existing directory the source keeps its name, else it takes the destination\'s; SRC/. copies the contents of a directory; - is a tar stream on stdout or stdin.',
  minArgs: 2,
  maxArgs: 2,
  load: lazy(() => import('./cp-command.js'), 'cpCommand'),
};

const SEARCH: CommandDef = {
  name: 'search',
  summary: "Search Docker Hub for images (or a registry's catalog: REGISTRY/TERM)",
  usage: '[OPTIONS] TERM',
  description: "Where Docker Hub cannot be reached, the catalogs of its mirrors (MAYFLY_REGISTRY_MIRRORS, config.json) are searched instead.",
  minArgs: 1,
  maxArgs: 1,
  flags: [{ long: 'limit', kind: 'value', type: 'uint', help: 'at most this many results', default: '25' }, FORMAT('Name'), NO_TRUNC],
  load: lazy(() => import('./search-command.js'), 'searchCommand'),
};

const INSPECT_FORMAT: FlagDef = { long: 'format', short: 'f', kind: 'value', help: "format the output: 'json' (default) or a Go template, e.g. '{{.State.Status}}'" };

const INSPECT: CommandDef = {
  name: 'inspect',
  summary: 'Return low-level information on containers, images, networks or volumes',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  minArgs: 1,
  flags: [
    INSPECT_FORMAT,
    { long: 'type', kind: 'value', choices: ['container', 'image', 'network', 'volume'], help: 'only look for this kind of object' },
  ],
  load: lazy(inspectVerbs, 'inspectCommand'),
};

const PULL: CommandDef = {
  name: 'pull',
  summary: 'Download an image from a registry',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  minArgs: 1,
  maxArgs: 1,
  flags: [{ long: 'platform', kind: 'value', help: 'os/arch[/variant] (default: this host\'s)' }, { ...QUIET('the image name'), help: 'suppress the progress output' }],
  load: lazy(imageVerbs, 'pullCommand'),
};

const IMAGES: CommandDef = {
  name: 'images',
  summary: 'List images',
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  maxArgs: 1,
  flags: [{ long: 'all', short: 'a', kind: 'bool', help: 'show all images (the same: mayfly keeps no intermediate images)' }, QUIET('image IDs'), FORMAT('Repository'), NO_TRUNC],
  load: lazy(imageVerbs, 'imagesCommand'),
};

const BUILD: CommandDef = {
  name: 'build',
  summary: 'Build an image from a Dockerfile',
  usage: '[OPTIONS] PATH',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { long: 'tag', short: 't', kind: 'list', help: 'name the image: name[:tag] (repeatable)' },
    { long: 'file', short: 'f', kind: 'value', help: "the Dockerfile (default PATH/Dockerfile; '-' reads it from stdin)" },
    { long: 'target', kind: 'value', help: 'build up to this stage' },
    { long: 'build-arg', kind: 'list', help: 'set a build-time variable: KEY=VALUE (KEY alone: its value here)' },
    { long: 'label', kind: 'list', help: 'set a label on the image: KEY=VALUE' },
    { long: 'secret', kind: 'list', help: 'a secret for RUN --mount=type=secret: id=ID,src=FILE | id=ID,env=VAR' },
    { long: 'no-cache', kind: 'bool', help: 'do not use the layer cache' },
    { long: 'pull', kind: 'bool', help: 'pull the base images even when they are in the store' },
    { long: 'iidfile', kind: 'value', help: "write the image's ID to this file" },
    { long: 'progress', kind: 'value', choices: ['auto', 'plain', 'tty', 'quiet'], help: 'how to show the steps', default: 'auto' },
    { long: 'compression', kind: 'value', choices: ['gzip', 'zstd'], help: 'compress the new layers with this', default: 'gzip' },
    QUIET('the image ID'),
  ],
  load: lazy(buildVerbs, 'buildCommand'),
};

const IMPORT: CommandDef = {
  name: 'import',
  summary: 'Make an image of a root filesystem directory',
  usage: 'DIR NAME',
  minArgs: 2,
  maxArgs: 2,
  load: lazy(buildVerbs, 'importCommand'),
};

const TAG: CommandDef = { name: 'tag', summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', minArgs: 2, maxArgs: 2, load: lazy(storeVerbs, 'tagCommand') };
const RMI: CommandDef = { name: 'rmi', summary: 'Remove one or more images', usage: '[OPTIONS] IMAGE [IMAGE...]', minArgs: 1, flags: [FORCE('remove even when a container uses it')], load: lazy(storeVerbs, 'rmiCommand') };
const HISTORY: CommandDef = { name: 'history', summary: 'Show the history of an image', usage: '[OPTIONS] IMAGE', minArgs: 1, maxArgs: 1, flags: [NO_TRUNC, QUIET('layer IDs')], load: lazy(storeVerbs, 'historyCommand') };
const LOGIN: CommandDef = {
  name: 'login',
  summary: 'Log in to a registry (stored once the registry accepts the credentials)',
  usage: '[OPTIONS] [SERVER]',
  maxArgs: 1,
  flags: [
    { long: 'username', short: 'u', kind: 'value', help: 'username' },
    { long: 'password', short: 'p', kind: 'value', help: 'password (visible to other users: prefer --password-stdin)' },
    { long: 'password-stdin', kind: 'bool', help: 'read the password from stdin' },
  ],
  load: lazy(storeVerbs, 'loginCommand'),
};
const PUSH: CommandDef = { name: 'push', summary: 'Upload an image to a registry', usage: 'NAME[:TAG]', minArgs: 1, maxArgs: 1, load: lazy(storeVerbs, 'pushCommand') };
const SAVE: CommandDef = {
  name: 'save',
  summary: 'Save one or more images to a tar archive (an OCI image layout)',
  usage: '-o FILE IMAGE [IMAGE...]',
  minArgs: 1,
  flags: [{ long: 'output', short: 'o', kind: 'value', help: 'write to this file' }],
  load: lazy(storeVerbs, 'saveCommand'),
};
const LOAD: CommandDef = {
  name: 'load',
  summary: 'Load images from a tar archive',
  usage: '-i FILE',
  maxArgs: 0,
  flags: [{ long: 'input', short: 'i', kind: 'value', help: 'read from this file' }, QUIET('nothing')],
  load: lazy(storeVerbs, 'loadCommand'),
};
const IMAGE_PRUNE: CommandDef = {
  name: 'prune',
  summary: 'Remove layers and blobs no image or container uses, and initialised-data snapshots',
  usage: '[OPTIONS]',
  maxArgs: 0,
  flags: [FORCE('do not prompt (mayfly never does)'), { long: 'all', short: 'a', kind: 'bool', help: 'the same (mayfly keeps no dangling images)' }],
  load: lazy(storeVerbs, 'imagePruneCommand'),
};

const NETWORK: CommandDef = {
  name: 'network',
  summary: 'Manage networks',
  subcommands: [
    {
      name: 'create',
      summary: 'Create a network',
      usage: '[OPTIONS] NETWORK',
      minArgs: 1,
      maxArgs: 1,
      flags: [
        { long: 'driver', short: 'd', kind: 'value', help: 'the driver: bridge (the only one mayfly has)', default: 'bridge' },
        { long: 'internal', kind: 'bool', help: 'no access to the outside world' },
        { long: 'label', kind: 'list', help: 'set a label: KEY=VALUE' },
      ],
      load: lazy(networkVerbs, 'networkCreate'),
    },
    { name: 'ls', aliases: ['list'], summary: 'List networks', usage: '[OPTIONS]', maxArgs: 0, flags: [QUIET('network names'), FORMAT('Name'), NO_TRUNC], load: lazy(networkVerbs, 'networkLs') },
    { name: 'inspect', summary: 'Display detailed information on one or more networks', usage: '[OPTIONS] NETWORK [NETWORK...]', minArgs: 1, flags: [INSPECT_FORMAT], load: lazy(inspectVerbs, 'networkInspectCommand') },
    { name: 'rm', aliases: ['remove'], summary: 'Remove one or more networks', usage: '[OPTIONS] NETWORK [NETWORK...]', minArgs: 1, flags: [FORCE('remove even while containers are attached')], load: lazy(networkVerbs, 'networkRm') },
    { name: 'prune', summary: 'Remove all unused networks', usage: '[OPTIONS]', maxArgs: 0, flags: [FORCE('do not prompt (mayfly never does)')], load: lazy(networkVerbs, 'networkPrune') },
    {
      name: 'connect',
      summary: 'Connect a container to a network (at once if it runs, at its next start otherwise)',
      usage: '[OPTIONS] NETWORK CONTAINER',
      minArgs: 2,
      maxArgs: 2,
      flags: [{ long: 'alias', kind: 'list', help: 'another name for the container on this network' }],
      load: lazy(networkVerbs, 'networkConnect'),
    },
    {
      name: 'disconnect',
      summary: 'Disconnect a container from a network',
      usage: '[OPTIONS] NETWORK CONTAINER',
      minArgs: 2,
      maxArgs: 2,
      flags: [FORCE('the same (mayfly needs no force)')],
      load: lazy(networkVerbs, 'networkDisconnect'),
    },
  ],
};

const VOLUME: CommandDef = {
  name: 'volume',
  summary: 'Manage volumes',
  subcommands: [
    { name: 'create', summary: 'Create a volume', usage: '[OPTIONS] [VOLUME]', maxArgs: 1, flags: [{ long: 'name', kind: 'value', help: 'the volume name' }], load: lazy(volumeVerbs, 'volumeCreate') },
    { name: 'ls', aliases: ['list'], summary: 'List volumes', usage: '[OPTIONS]', maxArgs: 0, flags: [QUIET('volume names'), FORMAT('Name')], load: lazy(volumeVerbs, 'volumeLs') },
    { name: 'inspect', summary: 'Display detailed information on one or more volumes', usage: '[OPTIONS] VOLUME [VOLUME...]', minArgs: 1, flags: [INSPECT_FORMAT], load: lazy(inspectVerbs, 'volumeInspectCommand') },
    { name: 'rm', aliases: ['remove'], summary: 'Remove one or more volumes and their data', usage: '[OPTIONS] VOLUME [VOLUME...]', minArgs: 1, flags: [FORCE('remove even while in use')], load: lazy(volumeVerbs, 'volumeRm') },
    { name: 'prune', summary: 'Remove all unused volumes', usage: '[OPTIONS]', maxArgs: 0, flags: [FORCE('do not prompt (mayfly never does)'), { long: 'all', short: 'a', kind: 'bool', help: 'the same (every volume here is named)' }], load: lazy(volumeVerbs, 'volumePrune') },
  ],
};

const SERVICE_TIMEOUT: FlagDef = { long: 'timeout', short: 't', kind: 'value', type: 'number', help: 'seconds to wait for each container to stop before SIGKILL' };
const compose = (name: string, def: Omit<CommandDef, 'name' | 'load'>): CommandDef => ({ name, ...def, load: lazy(composeVerbs, `compose${name[0]!.toUpperCase()}${name.slice(1)}Command`) });

const COMPOSE: CommandDef = {
  name: 'compose',
  summary: "Run a compose file's services",
  flags: [
    { long: 'file', short: 'f', kind: 'list', help: 'the compose file(s), later ones overriding earlier ones (default compose.yaml, docker-compose.yml, … with its override, in this directory)' },
    { long: 'project-name', short: 'p', kind: 'value', help: 'the project name (default: the directory name)' },
    { long: 'profile', kind: 'list', help: 'enable the services of this profile' },
    { long: 'env-file', kind: 'list', help: 'variables for interpolation (default .env)' },
    { long: 'project-directory', kind: 'value', help: 'the directory relative paths start from (default: the first file\'s)' },
  ],
  subcommands: [
    compose('up', {
      summary: 'Create and start the services (and what they depend on), in order',
      usage: '[OPTIONS] [SERVICE...]',
      description: 'Without -d, streams their output: Ctrl-C stops them, a second Ctrl-C kills them.',
      flags: [
        { long: 'detach', short: 'd', kind: 'bool', help: 'run in the background' },
        { long: 'build', kind: 'bool', help: 'build images before starting' },
        { long: 'no-build', kind: 'bool', help: 'do not build missing images' },
        { long: 'force-recreate', kind: 'bool', help: 'recreate containers even if nothing changed' },
        { long: 'no-deps', kind: 'bool', help: 'do not start the services they depend on' },
        { long: 'remove-orphans', kind: 'bool', help: "remove containers of services the file no longer has" },
        { long: 'wait', kind: 'bool', help: 'wait for the services to be running or healthy' },
        { long: 'abort-on-container-exit', kind: 'bool', help: 'stop all when one container stops' },
        { long: 'exit-code-from', kind: 'value', help: "exit with this service's exit code (implies --abort-on-container-exit)" },
        SERVICE_TIMEOUT,
      ],
    }),
    compose('down', {
      summary: "Remove the services' containers and networks",
      usage: '[OPTIONS]',
      maxArgs: 0,
      flags: [
        { long: 'volumes', short: 'v', kind: 'bool', help: 'remove the named volumes too' },
        { long: 'remove-orphans', kind: 'bool', help: 'the same: every container of the project goes' },
      ],
    }),
    compose('ps', {
      summary: "List the project's containers",
      usage: '[OPTIONS] [SERVICE...]',
      flags: [
        { long: 'all', short: 'a', kind: 'bool', help: 'stopped ones too' },
        QUIET('container IDs'),
        { long: 'services', kind: 'bool', help: 'only print the services' },
      ],
    }),
    compose('logs', {
      summary: 'View output from the services',
      usage: '[OPTIONS] [SERVICE...]',
      flags: [
        { long: 'follow', short: 'f', kind: 'bool', help: 'follow the output' },
        { long: 'tail', short: 'n', kind: 'value', help: 'number of lines from the end of each (or "all")', default: 'all' },
        { long: 'timestamps', short: 't', kind: 'bool', help: 'show timestamps' },
      ],
    }),
    compose('exec', {
      summary: "Execute a command in a service's running container",
      usage: '[OPTIONS] SERVICE COMMAND [ARG...]',
      interspersed: false,
      minArgs: 2,
      flags: [
        { long: 'env', short: 'e', kind: 'list', help: 'set an environment variable: KEY=VALUE' },
        { long: 'user', short: 'u', kind: 'value', help: 'run as this user' },
        { long: 'workdir', short: 'w', kind: 'value', help: 'working directory' },
        { long: 'no-TTY', short: 'T', kind: 'bool', help: 'no terminal (there is none anyway)' },
      ],
    }),
    compose('run', {
      summary: 'Run a one-off command in a new container of a service',
      usage: '[OPTIONS] SERVICE [COMMAND] [ARG...]',
      interspersed: false,
      minArgs: 1,
      flags: [
        { long: 'rm', kind: 'bool', help: 'remove the container when it exits' },
        { long: 'detach', short: 'd', kind: 'bool', help: 'run in the background and print its name' },
        { long: 'name', kind: 'value', help: 'the container name' },
        { long: 'env', short: 'e', kind: 'list', help: 'set an environment variable: KEY=VALUE' },
        { long: 'label', short: 'l', kind: 'list', help: 'set a label: KEY=VALUE' },
        { long: 'user', short: 'u', kind: 'value', help: 'run as this user' },
        { long: 'workdir', short: 'w', kind: 'value', help: 'working directory' },
        { long: 'entrypoint', kind: 'value', help: "replace the service's entrypoint" },
        { long: 'service-ports', kind: 'bool', help: "publish the service's ports" },
        { long: 'publish', short: 'p', kind: 'list', help: 'publish a port: [IP:]HOST:CONTAINER' },
        { long: 'volume', short: 'v', kind: 'list', help: 'bind mount or named volume: SRC:DST[:ro]' },
        { long: 'no-deps', kind: 'bool', help: 'do not start the services it depends on' },
        { long: 'no-TTY', short: 'T', kind: 'bool', help: 'no terminal (there is none anyway)' },
      ],
    }),
    compose('stop', { summary: 'Stop the services', usage: '[OPTIONS] [SERVICE...]', flags: [SERVICE_TIMEOUT] }),
    compose('start', { summary: 'Start the services that were stopped', usage: '[SERVICE...]' }),
    compose('restart', {
      summary: 'Restart the services',
      usage: '[OPTIONS] [SERVICE...]',
      flags: [SERVICE_TIMEOUT, { long: 'no-deps', kind: 'bool', help: 'do not restart the services that depend on them' }],
    }),
    compose('kill', { summary: "Kill the services' containers", usage: '[OPTIONS] [SERVICE...]', flags: [{ ...SIGNAL, default: 'SIGKILL' }] }),
    compose('build', {
      summary: 'Build the services that say build:',
      usage: '[OPTIONS] [SERVICE...]',
      flags: [
        { long: 'no-cache', kind: 'bool', help: 'do not use the layer cache' },
        { long: 'pull', kind: 'bool', help: 'pull the base images even when they are in the store' },
      ],
    }),
    compose('pull', {
      summary: "Pull the services' images",
      usage: '[OPTIONS] [SERVICE...]',
      flags: [{ long: 'ignore-pull-failures', kind: 'bool', help: 'go on after a failed pull' }, { ...QUIET('nothing'), help: 'no progress' }],
    }),
    compose('port', {
      summary: 'Print the host address a service port is published on',
      usage: '[OPTIONS] SERVICE PRIVATE_PORT',
      minArgs: 2,
      maxArgs: 2,
      flags: [{ long: 'protocol', kind: 'value', choices: ['tcp', 'udp'], help: 'the port\'s protocol', default: 'tcp' }],
    }),
    compose('config', {
      summary: 'The services as mayfly runs them (JSON)',
      usage: '[OPTIONS] [SERVICE...]',
      flags: [
        { ...QUIET('nothing'), help: 'only check the file' },
        { long: 'services', kind: 'bool', help: 'print the services' },
        { long: 'volumes', kind: 'bool', help: 'print the volumes' },
        { long: 'profiles', kind: 'bool', help: 'print the profiles' },
      ],
    }),
  ],
};

const withName = (def: CommandDef, name: string, aliases: string[] = []): CommandDef => ({ ...def, name, aliases });

const CONTAINER_PRUNE: CommandDef = {
  name: 'prune',
  summary: 'Remove all stopped containers',
  usage: '[OPTIONS]',
  maxArgs: 0,
  flags: [FORCE('do not prompt for confirmation (mayfly never does)')],
  load: lazy(containerVerbs, 'containerPruneCommand'),
};

const CONTAINER: CommandDef = {
  name: 'container',
  summary: 'Manage containers',
  subcommands: [withName(PS, 'ls', ['ps', 'list']), RUN, CREATE, START, ATTACH, STOP, RESTART, withName(RM, 'rm', ['remove']), PAUSE, UNPAUSE, KILL, LOGS, EXEC, PORT, STATS, COMMIT, CP, CONTAINER_PRUNE, { ...INSPECT, summary: 'Display detailed information on one or more containers', flags: INSPECT.flags!.filter((f) => f.long !== 'type'), load: lazy(inspectVerbs, 'containerInspectCommand') }],
};

const IMAGE: CommandDef = {
  name: 'image',
  summary: 'Manage images',
  subcommands: [
    withName(IMAGES, 'ls', ['list']),
    withName(PULL, 'pull'),
    withName(PUSH, 'push'),
    withName(BUILD, 'build'),
    withName(IMPORT, 'import'),
    withName(TAG, 'tag'),
    withName(RMI, 'rm', ['remove', 'rmi']),
    withName(HISTORY, 'history'),
    withName(SAVE, 'save'),
    withName(LOAD, 'load'),
    IMAGE_PRUNE,
    { ...INSPECT, summary: 'Display detailed information on one or more images', flags: INSPECT.flags!.filter((f) => f.long !== 'type'), load: lazy(inspectVerbs, 'imageInspectCommand') },
  ],
};

const DOCTOR: CommandDef = {
  name: 'doctor',
  summary: 'Report what this machine offers a rootless runtime, and what to install',
  usage: '[OPTIONS]',
  maxArgs: 0,
  flags: [{ long: 'json', kind: 'bool', help: 'print the findings as JSON' }],
  load: lazy(() => import('./doctor-command.js'), 'doctorCommand'),
};

const SYSTEM: CommandDef = {
  name: 'system',
  summary: 'Check the image store',
  subcommands: [
    {
      name: 'check',
      summary: "Verify the store: every blob against its digest, every image's config, manifest and layers, every name, and what installs that died left behind",
      usage: '[OPTIONS]',
      description: 'Waits for pulls and builds in progress. Exit 0 when clean (after the repair, with --repair), 1 when problems remain.',
      maxArgs: 0,
      flags: [
        { long: 'repair', kind: 'bool', help: 'forget broken images (pull or build them again), delete corrupt blobs and leftovers, set names straight; containers of dead sandboxes are removed too' },
        { long: 'quick', kind: 'bool', help: 'do not hash the blobs (presence and references only)' },
        { long: 'json', kind: 'bool', help: 'print the report as JSON' },
      ],
      load: lazy(() => import('./system-command.js'), 'systemCheckCommand'),
    },
  ],
};

const dockerApiVerbs = () => import('./docker-api-commands.js');

const SERVE: CommandDef = {
  name: 'serve',
  summary: 'Serve the Docker Engine API on a Unix socket (for Testcontainers in any language, docker, docker-compose)',
  usage: '',
  description: 'Prints DOCKER_HOST=unix://… and stays in the foreground until interrupted. The socket is in a 0700 directory of MAYFLY_HOME; containers made over it are held by the keeper like `mayfly run -d` ones.',
  maxArgs: 0,
  flags: [{ long: 'tcp', kind: 'value', placeholder: 'HOST:PORT', help: 'also relay the API on a loopback TCP port (127.0.0.1:2375; loopback only), for clients that cannot use a Unix socket' }],
  load: lazy(dockerApiVerbs, 'serveCommand'),
};

const DOCKER_ENV: CommandDef = {
  name: 'docker-env',
  summary: 'Print `export DOCKER_HOST=unix://…` for the Docker Engine API (starting it if needed): eval "$(mayfly docker-env)"',
  usage: '[OPTIONS]',
  description: 'The keeper serving the API stays for MAYFLY_API_IDLE_SECONDS (3600) after the last request, or while containers run.',
  maxArgs: 0,
  flags: [{ long: 'unset', short: 'u', kind: 'bool', help: 'print `unset DOCKER_HOST` instead' }],
  load: lazy(dockerApiVerbs, 'dockerEnvCommand'),
};

const VERSION: CommandDef = { name: 'version', summary: 'Show the mayfly version', usage: '', maxArgs: 0, load: lazy(() => import('./version-command.js'), 'versionCommand') };

export const ROOT: CommandDef = {
  name: '',
  summary: 'Throwaway containers without a daemon and without root.',
  usage: '[OPTIONS] COMMAND',
  flags: [{ long: 'version', short: 'v', kind: 'bool', help: 'print the version and exit' }],
  subcommands: [
    RUN,
    CREATE,
    PS,
    STOP,
    START,
    ATTACH,
    RESTART,
    PAUSE,
    UNPAUSE,
    KILL,
    RM,
    LOGS,
    EXEC,
    PORT,
    STATS,
    INSPECT,
    COMMIT,
    CP,
    PULL,
    PUSH,
    IMAGES,
    BUILD,
    IMPORT,
    SEARCH,
    TAG,
    RMI,
    HISTORY,
    SAVE,
    LOAD,
    LOGIN,
    CONTAINER,
    IMAGE,
    NETWORK,
    VOLUME,
    COMPOSE,
    DOCTOR,
    SYSTEM,
    SERVE,
    DOCKER_ENV,
    VERSION,
  ],
};
