# NixOS module for the nixca ACME issuer (`nixca serve`). Modelled on nixpkgs' step-ca and
# harmonia modules: configuration in the store, secrets only as runtime paths handed to the
# service through systemd credentials (LoadCredential), a dedicated user, full hardening,
# Type=notify readiness. With the flake: `imports = [ nixca.nixosModules.default ];` (the package
# defaults to the flake's); without: `imports = [ ./nix-module/nixca.nix ];` (the package is
# pkgs.nixca from the flake's overlay if present, else built from ../package.nix).
#   services.nixca = { enable = true; baseUrl = "https://acme.example.internal:8443/";
#                      intermediateKeyPassphraseFile = config.age.secrets.nixca-intermediate.path; };
{ config, lib, pkgs, utils, ... }:
let
  cfg = config.services.nixca;

  # `nixca serve` looks for its passphrase under this credential name
  # ($CREDENTIALS_DIRECTORY/nixca-intermediate-passphrase, cli/serve.ts --passphrase-file help).
  passphraseCredential = "nixca-intermediate-passphrase";

  # Every secret: credential id -> runtime path (never read at evaluation time).
  secrets =
    lib.optionalAttrs (cfg.intermediateKeyPassphraseFile != null) { ${passphraseCredential} = cfg.intermediateKeyPassphraseFile; }
    // cfg.credentials;

  # A secret must not be in the store: it is world-readable, and a Nix path literal (./secret) is
  # copied there as soon as it is interpolated. `toString` never copies, so it is safe to test.
  inStore = p: builtins.isPath p || lib.hasPrefix "${builtins.storeDir}/" (toString p) || toString p == builtins.storeDir;

  # host:port as `nixca serve --listen` parses it: an IPv6 address in brackets.
  listen = (if lib.hasInfix ":" cfg.listenAddress then "[${cfg.listenAddress}]" else cfg.listenAddress) + ":${toString cfg.port}";
  # Binding below 1024 needs CAP_NET_BIND_SERVICE, and only then is it granted.
  lowPort = cfg.port < 1024;

  # Keys owned by the options above; `settings` may not set them behind their back.
  reservedKeys = [ "state" "listen" "baseUrl" "eab" "passphraseFile" "dev" "adminSocket" ];

  # The operator's `nixca` on this host: the same package, run by systemd as the service's
  # user with its state directory and credentials, so `nixca node add …` needs no `sudo -u`
  # and no --state (docs/nixos.md, "The issuer"). systemd-run --pipe/--pty passes stdio through.
  operatorNixca = pkgs.writeShellScriptBin "nixca" ''
    if [ "$(id -u)" != 0 ]; then
      echo "nixca: on the issuer host, run as root (sudo nixca …): it runs as the ${cfg.user} service user with ${cfg.stateDir} and the service's credentials" >&2
      exit 1
    fi
    mode=--pipe
    if [ -t 0 ] && [ -t 1 ]; then mode=--pty; fi
    exec ${config.systemd.package}/bin/systemd-run --quiet --wait --collect --service-type=exec "$mode" \
      --uid=${cfg.user} --gid=${cfg.group} --working-directory=${cfg.stateDir} \
      --property=UMask=0077 \
      ${lib.concatMapStringsSep " " (c: "--property=${lib.escapeShellArg "LoadCredential=${c}"}") credentialLines} \
      --setenv=NIXCA_STATE_DIR=${cfg.stateDir} \
      --setenv=NIXCA_ADMIN_SOCKET=${cfg.adminSocket} \
      ${lib.concatStringsSep " " (lib.mapAttrsToList (k: v: "--setenv=${lib.escapeShellArg "${k}=${v}"}") operatorEnv)} \
      ${cfg.package}/bin/nixca "$@"
  '';
  # Every other NIXCA_* the service runs with (e.g. NIXCA_STORE from ./nixca-postgres.nix): the
  # operator's commands must work on the store the service serves from.
  operatorEnv = lib.filterAttrs (k: v: lib.hasPrefix "NIXCA_" k && v != null && k != "NIXCA_STATE_DIR" && k != "NIXCA_ADMIN_SOCKET")
    config.systemd.services.nixca.environment;
  credentialLines = lib.mapAttrsToList (id: p: "${id}:${toString p}") secrets;

  # `settings` is the `nixca serve --config` file (JSON; `nixca serve --print-config-schema` lists
  # the keys). Command-line flags from the options above override it, as they do by hand.
  settingsFormat = pkgs.formats.json { };
  configFile = settingsFormat.generate "nixca-serve.json" (lib.filterAttrs (_: v: v != null) cfg.settings);

  serveArgs = [
    "${cfg.package}/bin/nixca" "serve"
    "--state" cfg.stateDir
    "--listen" listen
    "--base-url" cfg.baseUrl
    "--eab" (if cfg.eabRequired then "required" else "optional")
    "--admin-socket" cfg.adminSocket
  ] ++ lib.optionals (cfg.settings != { }) [ "--config" "${configFile}" ] ++ cfg.extraFlags;
in
{
  options.services.nixca = {
    enable = lib.mkEnableOption "the nixca ACME issuer (nixca serve)";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.nixca or (pkgs.callPackage ../package.nix { });
      defaultText = lib.literalExpression "pkgs.nixca or (pkgs.callPackage ./package.nix { })";
      description = "The nixca package (provides bin/nixca). The flake's nixosModules.default sets its own package.";
    };

    listenAddress = lib.mkOption {
      type = lib.types.str;
      default = "0.0.0.0";
      example = "::";
      description = "Address the issuer listens on (HTTPS); an IPv6 address without brackets.";
    };

    port = lib.mkOption {
      type = lib.types.port;
      default = 8443;
      description = "Port the issuer listens on. Below 1024 the unit gets CAP_NET_BIND_SERVICE, and nothing else.";
    };

    user = lib.mkOption {
      type = lib.types.str;
      default = "nixca";
      description = "User the issuer (and the operator's `nixca` on this host) runs as; created when left at the default.";
    };

    group = lib.mkOption {
      type = lib.types.str;
      default = "nixca";
      description = "Group of the issuer's user; created when left at the default.";
    };

    baseUrl = lib.mkOption {
      type = lib.types.str;
      example = "https://acme.n3x.internal:8443/";
      description = "External base URL of the issuer (ACME links, JWS url check). The directory is <baseUrl>directory: pass it to `nixca nixos emit --acme-directory`.";
    };

    stateDir = lib.mkOption {
      type = lib.types.str;
      default = "/var/lib/nixca";
      description = "State directory (inventory, ACME store, intermediate). Must be under /var/lib: systemd creates it (StateDirectory=) with mode 0700.";
    };

    adminSocket = lib.mkOption {
      type = lib.types.str;
      default = "/run/nixca/admin.sock";
      description = "Unix socket through which operator commands (`nixca cert revoke`, `node eab --rotate`, `key rotate`, …) reach the running issuer (mode 0600, root and the service user only; never TCP). Under /run/nixca (the unit's RuntimeDirectory, 0700, gone when the service stops) or the state directory: the only places the hardened unit may write. The operator's `nixca` on this host gets it as $NIXCA_ADMIN_SOCKET.";
    };

    eabRequired = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Require External Account Binding (RFC 8555 §7.3.4): only nodes with an EAB credential from the inventory can create accounts.";
    };

    settings = lib.mkOption {
      type = settingsFormat.type;
      default = { };
      example = { leafLifetime = "7d"; resolve = [ "cache.nuc-1.n3x.internal=10.0.0.5" ]; logLevel = "info"; };
      description = "Further `nixca serve` settings, rendered into its `--config` file (JSON; keys as `nixca serve --print-config` shows them; null leaves a key out). The file is in the Nix store, readable by every user: not for secrets, see `credentials`.";
    };

    extraFlags = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "--no-metrics" ];
      description = "Arguments appended verbatim to `nixca serve` (flags override `settings`).";
    };

    intermediateKeyPassphraseFile = lib.mkOption {
      # `path` is accepted only so that the assertion below can explain why a path literal is wrong.
      type = lib.types.nullOr (lib.types.either lib.types.str lib.types.path);
      default = null;
      example = "/run/agenix/nixca-intermediate-passphrase";
      description = "Runtime path (a quoted string, never a Nix path literal) of the file holding the intermediate key passphrase, e.g. config.age.secrets.<name>.path or config.sops.secrets.<name>.path. Handed to the service as the systemd credential `nixca-intermediate-passphrase`; the file itself can stay root-only.";
    };

    credentials = lib.mkOption {
      type = lib.types.attrsOf (lib.types.either lib.types.str lib.types.path);
      default = { };
      description = "Further secrets as systemd credentials: id -> runtime path, readable by the service as $CREDENTIALS_DIRECTORY/<id>.";
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Open the listen port in the firewall.";
    };

    operatorCli = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Put a `nixca` on PATH that runs as the service user with its state directory and credentials (root only; via systemd-run).";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions =
      lib.mapAttrsToList
        (id: p: {
          assertion = !(inStore p);
          message = "services.nixca: the secret `${id}` (${toString p}) would be in the Nix store, which every user of the machine can read. Give a runtime path as a quoted string (for example config.age.secrets.<name>.path, /run/agenix/<name>, or /run/secrets/<name>), never a Nix path literal such as ./secret.";
        })
        secrets
      ++ lib.mapAttrsToList
        (id: p: {
          assertion = lib.hasPrefix "/" (toString p);
          message = "services.nixca: the secret `${id}` must be an absolute runtime path, got ${toString p}.";
        })
        secrets
      ++ [
        {
          assertion = lib.hasPrefix "/var/lib/" cfg.stateDir;
          message = "services.nixca.stateDir must be under /var/lib (systemd StateDirectory=), got ${cfg.stateDir}.";
        }
        {
          assertion = lib.hasPrefix "/run/nixca/" cfg.adminSocket || lib.hasPrefix "${cfg.stateDir}/" cfg.adminSocket;
          message = "services.nixca.adminSocket must be under /run/nixca/ (RuntimeDirectory) or ${cfg.stateDir}/, the only places the unit may write (ProtectSystem=strict), got ${cfg.adminSocket}.";
        }
        {
          assertion = lib.hasPrefix "https://" cfg.baseUrl;
          message = "services.nixca.baseUrl must be an https:// URL (RFC 8555 §6.1), got ${cfg.baseUrl}.";
        }
        {
          assertion = !(lib.hasInfix "[" cfg.listenAddress) && cfg.listenAddress != "";
          message = "services.nixca.listenAddress is an address without brackets or port (port is its own option), got ${cfg.listenAddress}.";
        }
        {
          assertion = !(lib.any (k: cfg.settings ? ${k}) reservedKeys);
          message = "services.nixca.settings must not set ${lib.concatStringsSep ", " reservedKeys}: use the module options (and intermediateKeyPassphraseFile for the passphrase).";
        }
      ];

    users.users = lib.optionalAttrs (cfg.user == "nixca") {
      nixca = {
        isSystemUser = true;
        inherit (cfg) group;
        home = cfg.stateDir;
        description = "nixca ACME issuer";
      };
    };
    users.groups = lib.optionalAttrs (cfg.group == "nixca") { nixca = { }; };

    environment.systemPackages = lib.optional cfg.operatorCli operatorNixca;

    networking.firewall.allowedTCPPorts = lib.optional cfg.openFirewall cfg.port;

    systemd.services.nixca = {
      description = "nixca ACME issuer";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      environment = {
        NIXCA_STATE_DIR = cfg.stateDir;
        NODE_ENV = "production";
        # Not data but V8's young generation and what its worker threads keep from the optimizing
        # compiles at start dominate the issuer's peak RSS: with a 4 MB semi-space and one V8
        # worker thread it peaked at 91-94 MB instead of 96-103 (N=300, C=20) at the same CPU
        # per issuance (docs/performance.md "Memory"). Both only take effect when given at process start. The
        # packaged wrapper passes them too; this keeps them for a package built some other way.
        NODE_OPTIONS = lib.mkDefault "--max-semi-space-size=4 --v8-pool-size=1";
      };
      # Everything `nixca serve` reads from Nix is on its command line (a change restarts the
      # unit by itself); the package is listed so that an upgrade restarts it even when the
      # command line reads the same.
      restartTriggers = [ cfg.package ] ++ lib.optional (cfg.settings != { }) configFile;
      serviceConfig = {
        ExecStart = utils.escapeSystemdExecArgs serveArgs;
        # Ready once it listens (READY=1 from systemd-notify, on every unit's PATH): units ordered
        # after nixca.service start when it can answer. The message comes from a child process.
        Type = "notify";
        NotifyAccess = "all";
        Restart = "on-failure";
        RestartSec = "5s";

        # A dedicated (static) user rather than DynamicUser: operators edit the inventory in the
        # same state directory with `sudo -u nixca nixca node add …`, and files they create must
        # stay readable by the service (docs/nixos.md).
        User = cfg.user;
        Group = cfg.group;
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        StateDirectoryMode = "0700";
        # The admin socket's directory (/run/nixca, adminSocket): private, removed when the unit stops.
        RuntimeDirectory = "nixca";
        RuntimeDirectoryMode = "0700";
        WorkingDirectory = cfg.stateDir;
        UMask = "0077";

        # Secrets: copied by systemd into a private, read-only directory only this unit can read.
        LoadCredential = lib.mapAttrsToList (id: p: "${id}:${toString p}") secrets;

        CapabilityBoundingSet = if lowPort then [ "CAP_NET_BIND_SERVICE" ] else [ "" ];
        AmbientCapabilities = lib.optional lowPort "CAP_NET_BIND_SERVICE";
        # In a user namespace the capability would not apply to the host's ports.
        PrivateUsers = !lowPort;
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        DevicePolicy = "closed";
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        ProtectProc = "invisible";
        ProcSubset = "pid";
        RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RemoveIPC = true;
        # V8's JIT needs writable+executable memory: MemoryDenyWriteExecute would kill node.
        MemoryDenyWriteExecute = false;
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" "~@privileged" "~@resources" ];
        # Refused calls fail with EPERM instead of killing node (it tries setrlimit at start).
        SystemCallErrorNumber = "EPERM";
        PrivateMounts = true;
        # Each ACME client connection and each open ledger/store handle is a descriptor.
        LimitNOFILE = 65536;
        DeviceAllow = [ "" ];
      };
    };
  };
}
