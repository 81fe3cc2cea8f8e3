# NixOS module for the nixca ACME issuer (`nixca serve`). Modelled on nixpkgs' step-ca and
# harmonia modules: configuration in the store, secrets only as runtime paths handed to the
# service through systemd credentials (LoadCredential), a dedicated user, full hardening.
# Import it on the issuer machine (docs/nixos.md, "The issuer"):
#   imports = [ ./nix-module/nixca.nix ];
#   services.nixca = { enable = true; package = …; baseUrl = "https://acme.example.internal:8443/";
#                      intermediateKeyPassphraseFile = config.age.secrets.nixca-intermediate.path; };
{ config, lib, utils, ... }:
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

  portOf = listen:
    let m = builtins.match ".*:([0-9]+)" listen;
    in if m == null then null else lib.toInt (builtins.head m);
  port = portOf cfg.listen;
  # Binding below 1024 needs CAP_NET_BIND_SERVICE, and only then is it granted.
  lowPort = port != null && port < 1024;

  # Flags owned by the options above; `settings` may not set them behind their back.
  reservedFlags = [ "state" "listen" "base-url" "eab" "passphrase-file" "dev" ];

  settingsFlags = lib.concatLists (lib.mapAttrsToList
    (name: value:
      if value == true then [ "--${name}" ]
      else if value == false || value == null then [ ]
      else if builtins.isList value then lib.concatMap (v: [ "--${name}" (toString v) ]) value
      else [ "--${name}" (toString value) ])
    cfg.settings);

  serveArgs = [
    "${cfg.package}/bin/nixca" "serve"
    "--state" cfg.stateDir
    "--listen" cfg.listen
    "--base-url" cfg.baseUrl
    "--eab" (if cfg.eabRequired then "required" else "optional")
  ] ++ settingsFlags;
in
{
  options.services.nixca = {
    enable = lib.mkEnableOption "the nixca ACME issuer (nixca serve)";

    package = lib.mkOption {
      type = lib.types.package;
      description = "The nixca package (provides bin/nixca).";
    };

    listen = lib.mkOption {
      type = lib.types.str;
      default = "0.0.0.0:8443";
      example = "[::]:443";
      description = "host:port the issuer listens on (HTTPS). A port below 1024 grants CAP_NET_BIND_SERVICE, and nothing else.";
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

    eabRequired = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Require External Account Binding (RFC 8555 §7.3.4): only nodes with an EAB credential from the inventory can create accounts.";
    };

    settings = lib.mkOption {
      type = lib.types.attrsOf (lib.types.nullOr (lib.types.oneOf [ lib.types.bool lib.types.int lib.types.str (lib.types.listOf lib.types.str) ]));
      default = { };
      example = { leaf-lifetime = "7d"; resolve = [ "cache.nuc-1.n3x.internal=10.0.0.5" ]; log-level = "info"; };
      description = "Further `nixca serve` flags, without the leading --: true adds the flag, a list repeats it. Not for secrets (the command line is world-readable); see `credentials`.";
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
          assertion = lib.hasPrefix "https://" cfg.baseUrl;
          message = "services.nixca.baseUrl must be an https:// URL (RFC 8555 §6.1), got ${cfg.baseUrl}.";
        }
        {
          assertion = port != null;
          message = "services.nixca.listen must be host:port, got ${cfg.listen}.";
        }
        {
          assertion = !(lib.any (f: cfg.settings ? ${f}) reservedFlags);
          message = "services.nixca.settings must not set ${lib.concatStringsSep ", " reservedFlags}: use the module options (and intermediateKeyPassphraseFile for the passphrase).";
        }
      ];

    users.users.nixca = {
      isSystemUser = true;
      group = "nixca";
      home = cfg.stateDir;
      description = "nixca ACME issuer";
    };
    users.groups.nixca = { };

    networking.firewall.allowedTCPPorts = lib.optional (cfg.openFirewall && port != null) port;

    systemd.services.nixca = {
      description = "nixca ACME issuer";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      environment = {
        NIXCA_STATE_DIR = cfg.stateDir;
        NODE_ENV = "production";
        # V8's young generation, not data, dominates the issuer's peak RSS; a 4 MB semi-space
        # keeps it near 110 MB with 50,000 certificates at the same CPU per issuance
        # (docs/performance.md). It only takes effect when given at process start.
        NODE_OPTIONS = lib.mkDefault "--max-semi-space-size=4";
      };
      serviceConfig = {
        ExecStart = utils.escapeSystemdExecArgs serveArgs;
        Type = "simple";
        Restart = "on-failure";
        RestartSec = "5s";

        # A dedicated (static) user rather than DynamicUser: operators edit the inventory in the
        # same state directory with `sudo -u nixca nixca node add …`, and files they create must
        # stay readable by the service (docs/nixos.md).
        User = "nixca";
        Group = "nixca";
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        StateDirectoryMode = "0700";
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
        SystemCallFilter = [ "@system-service" "~@privileged" ];
        SystemCallErrorNumber = "EPERM";
      };
    };
  };
}
