# Evaluates NixOS modules in nixpkgs' real module system (lib.evalModules of the vendored lib in
# ./vendor/nixpkgs-lib, see its README), without the rest of nixpkgs (none is available offline):
#   nix-instantiate --eval --strict --json test/nixos/harness.nix --argstr modulesJson '[ "/abs/x.nix" ]' -A …
# It supplies `pkgs` and `utils` stand-ins, and declares the nixpkgs options the emitted modules and
# nix-module/nixca.nix touch, with the names, types and defaults of nixpkgs' declarations (nix.nix,
# ca.nix, caddy, harmonia in three generations, postgresql, systemd-unit-options.nix). Merging,
# priorities, mkIf, submodules, "option does not exist" and renamed-option warnings are the real
# lib's; only the declarations and the config the stand-in modules set are ours.
{
  # JSON list of absolute module file paths.
  modulesJson,
  # JSON attribute set merged in as one more module. A string "<path-literal>/abs/file" becomes the
  # Nix path literal /abs/file (to test what a module does with a path literal).
  configJson ? "{}",
  # Which generation of nixpkgs' harmonia module to declare: "flat" (24.11 to 25.11: signKeyPaths),
  # "cache" (after 25.11: services.harmonia.cache.*), or "single-key" (before 24.11: the flat names
  # with only `signKeyPath`, one key as credential sign-key and SIGN_KEY_PATH).
  harmonia ? "flat",
  # Which generation of nixpkgs' postgresql module: "setup" (25.11 on: ensureDatabases/ensureUsers
  # run in postgresql-setup.service, after postgresql.service is up; postgresql.target requires
  # both) or "service" (before: in postgresql.service's postStart, no target).
  postgresql ? "setup",
}:
let
  lib = import ./vendor/nixpkgs-lib/lib;
  inherit (lib) mkOption types;
  inherit (builtins) isAttrs isList isPath isString mapAttrs substring stringLength;

  marker = "<path-literal>";
  decodePaths = v:
    if isString v && substring 0 (stringLength marker) v == marker then /. + substring (stringLength marker) (stringLength v) v
    else if isList v then map decodePaths v
    else if isAttrs v then mapAttrs (_: decodePaths) v
    else v;

  fakeDrv = name: { type = "derivation"; inherit name; outPath = "/nix/store/00000000000000000000000000000000-${name}"; };

  # pkgs/pkgs-lib/formats.nix: the types as nixpkgs declares them; generate writes the JSON only
  # (nothing is built: the TOML one would run json2toml).
  formatValue = description:
    let valueType = types.nullOr (types.oneOf [ types.bool types.int types.float types.str types.path (types.attrsOf valueType) (types.listOf valueType) ]) // { inherit description; };
    in valueType;
  tomlValue =
    let valueType = types.oneOf [ types.bool types.int types.float types.str types.path (types.attrsOf valueType) (types.listOf valueType) ] // { description = "TOML value"; };
    in valueType;
  generateJson = name: value: builtins.toFile name (builtins.toJSON value);

  pkgs = import ./pkgs.nix { } // {
    formats.json = { }: { type = formatValue "JSON value"; generate = generateJson; };
    formats.toml = { }: { type = tomlValue; generate = generateJson; };
    nixca = fakeDrv "nixca-0.1.0";
    caddy = fakeDrv "caddy-2.6.2";
    harmonia = fakeDrv "harmonia-2.0.0";
    # pkgs.writeShellScriptBin: the script's text kept for the tests (nothing is built).
    writeShellScriptBin = name: text: fakeDrv "${name}" // { inherit text; };
  };

  # nixos/lib/utils.nix, verbatim in behaviour: JSON-quote, then escape systemd's % and $.
  utils = rec {
    escapeSystemdExecArg = arg:
      let
        s = if isPath arg then "${arg}"
          else if isString arg then arg
          else if builtins.isInt arg || (isAttrs arg && arg ? outPath) then toString arg
          else throw "escapeSystemdExecArg only allows strings, paths, numbers and derivations";
      in builtins.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON s);
    escapeSystemdExecArgs = args: builtins.concatStringsSep " " (map escapeSystemdExecArg args);
  };

  opt = type: default: mkOption { inherit type default; };
  linesOpt = opt types.lines "";
  strList = opt (types.listOf types.str) [ ];
  # Entries this harness does not model option by option (users.users, systemd.targets, …): in
  # nixpkgs submodules; here attribute sets whose scalars must agree and whose lists concatenate.
  freeformEntries = opt (types.attrsOf (types.submodule { freeformType = types.attrsOf types.anything; })) { };

  # systemd-unit-options.nix unitOption: if any definition is a list, all are concatenated
  # (a single value becomes a one-element list); otherwise every definition must be equal.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge = loc: defs:
      let defs' = lib.filterOverrides defs; in
      if lib.any (def: isList def.value) defs' then lib.concatMap (def: lib.toList def.value) defs'
      else lib.mergeEqualOption loc defs';
  };

  # systemd.services.<name> (nixos/lib/systemd-unit-options.nix): the options modules here use.
  serviceOptions = { ... }: {
    options = {
      enable = opt types.bool true;
      description = opt types.str "";
      wantedBy = strList; requiredBy = strList; wants = strList; requires = strList;
      after = strList; before = strList; partOf = strList; bindsTo = strList; conflicts = strList;
      environment = opt (types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]))) { };
      path = opt (types.listOf (types.oneOf [ types.package types.str ])) [ ];
      serviceConfig = opt (types.attrsOf unitOption) { };
      unitConfig = opt (types.attrsOf unitOption) { };
      script = linesOpt; preStart = linesOpt; postStart = linesOpt;
      restartTriggers = opt (types.listOf types.unspecified) [ ];
      reloadTriggers = opt (types.listOf types.unspecified) [ ];
      restartIfChanged = opt types.bool true;
      startLimitBurst = opt types.int 0;
      startLimitIntervalSec = opt types.int 0;
    };
  };

  # services.caddy.virtualHosts.<name> (caddy/vhost-options.nix).
  vhostOptions = { name, config, ... }: {
    options = {
      hostName = opt types.str name;
      serverAliases = strList;
      listenAddresses = strList;
      useACMEHost = opt (types.nullOr types.str) null;
      logFormat = opt (types.nullOr types.lines) "output file /var/log/caddy/access-${config.hostName}.log\n";
      extraConfig = linesOpt;
    };
  };

  harmoniaCacheOptions = {
    enable = opt types.bool false;
    signKeyPath = opt (types.nullOr types.path) null;
    signKeyPaths = opt (types.listOf types.path) [ ];
    settings = opt (pkgs.formats.toml { }).type { };
  };
  # harmonia.nix after 25.11: the flat names moved under .cache with mkRenamedOptionModule.
  renamedNames = [ "enable" "signKeyPath" "signKeyPaths" "settings" ];

  nixpkgsStandIn = { config, ... }: {
    imports = lib.optionals (harmonia == "cache")
      (map (n: lib.mkRenamedOptionModule [ "services" "harmonia" n ] [ "services" "harmonia" "cache" n ]) renamedNames);
    options = {
      assertions = opt (types.listOf types.unspecified) [ ];
      warnings = opt (types.listOf types.str) [ ];
      boot.kernel.sysctl = opt (types.attrsOf types.anything) { };
      security.pki = {
        certificateFiles = opt (types.listOf types.path) [ ];
        certificates = opt (types.listOf types.str) [ ];
        caCertificateBlacklist = opt (types.listOf types.str) [ ];
        useCompatibleBundle = opt types.bool false;
        installCACerts = opt types.bool true;
      };
      environment = {
        etc = freeformEntries;
        systemPackages = opt (types.listOf types.package) [ ];
      };
      # nix.nix: `settings = mkOption { type = types.submodule { freeformType = semanticConfType;
      # options = { … }; }; }`, only these settings declared (typed).
      nix.settings =
        let confAtom = types.nullOr (types.oneOf [ types.bool types.int types.float types.str types.path types.package ]);
        in opt (types.submodule {
          freeformType = types.attrsOf (types.either confAtom (types.listOf confAtom));
          options = {
            substituters = opt (types.listOf types.str) [ ];
            trusted-public-keys = opt (types.listOf types.str) [ ];
            trusted-substituters = opt (types.listOf types.str) [ ];
            extra-allowed-users = opt (types.listOf types.str) [ ];
            require-sigs = opt types.bool true;
          };
        }) { };
      networking.firewall = {
        enable = opt types.bool true;
        allowedTCPPorts = opt (types.listOf types.port) [ ];
        allowedUDPPorts = opt (types.listOf types.port) [ ];
      };
      services = {
        caddy = {
          enable = opt types.bool false;
          package = opt types.package pkgs.caddy;
          acmeCA = opt (types.nullOr types.str) null;
          adapter = opt (types.nullOr types.str) "caddyfile";
          configFile = opt types.path "/etc/caddy/caddy_config";
          dataDir = opt types.path "/var/lib/caddy";
          email = opt (types.nullOr types.str) null;
          enableReload = opt types.bool true;
          environmentFile = opt (types.nullOr types.path) null;
          extraConfig = linesOpt;
          globalConfig = linesOpt;
          group = opt types.str "caddy";
          httpPort = opt (types.nullOr types.port) 80;
          httpsPort = opt (types.nullOr types.port) 443;
          logDir = opt types.path "/var/log/caddy";
          logFormat = opt types.lines "level ERROR\n";
          openFirewall = opt types.bool false;
          resume = opt types.bool false;
          # caddy/default.nix: `settings = mkOption { type = settingsFormat.type; default = { }; }`, JSON.
          settings = opt (pkgs.formats.json { }).type { };
          user = opt types.str "caddy";
          virtualHosts = opt (types.attrsOf (types.submodule vhostOptions)) { };
        };
        # nixos/modules/services/databases/postgresql.nix: what the issuer's database module uses.
        postgresql = {
          enable = opt types.bool false;
          ensureDatabases = opt (types.listOf types.str) [ ];
          ensureUsers = opt (types.listOf types.unspecified) [ ];
          # `settings = mkOption { type = with types; submodule { freeformType = attrsOf (oneOf [ bool
          # float int str ]); options = { … port = mkOption { type = types.port; default = 5432; … }; }; }; … }`
          settings = opt (types.submodule {
            freeformType = types.attrsOf (types.oneOf [ types.bool types.float types.int types.str ]);
            options.port = opt types.port 5432;
          }) { };
        };
        harmonia =
          if harmonia == "flat" then harmoniaCacheOptions // { package = opt types.package pkgs.harmonia; }
          else if harmonia == "single-key" then removeAttrs harmoniaCacheOptions [ "signKeyPaths" ] // { package = opt types.package pkgs.harmonia; }
          else {
            package = opt types.package pkgs.harmonia;
            cache = harmoniaCacheOptions;
            daemon = {
              enable = opt types.bool false;
              dbPath = opt types.str "/nix/var/nix/db/db.sqlite";
              logLevel = opt types.str "info";
              socketPath = opt types.str "/run/harmonia-daemon/socket";
              storeDir = opt types.str "/nix/store";
            };
          };
      };
      systemd = {
        package = opt types.package (fakeDrv "systemd-257");
        services = opt (types.attrsOf (types.submodule serviceOptions)) { };
        sockets = freeformEntries;
        targets = freeformEntries;
        tmpfiles.rules = opt (types.listOf types.str) [ ];
      };
      users = {
        users = freeformEntries;
        groups = freeformEntries;
      };
    };
    config =
      let
        caddy = config.services.caddy;
        h = if harmonia == "cache" then config.services.harmonia.cache else config.services.harmonia;
        signKeyPaths = h.signKeyPaths ++ (if h.signKeyPath != null then [ h.signKeyPath ] else [ ]);
        credentials =
          if harmonia == "single-key" then lib.optional (h.signKeyPath != null) { id = "sign-key"; path = h.signKeyPath; }
          else lib.imap0 (i: p: { id = "sign-key-${toString i}"; path = p; }) signKeyPaths;
      in
      lib.mkMerge [
        {
          # nixpkgs nix.nix: cache.nixos.org is added after everything else (mkAfter), its key plainly.
          nix.settings.substituters = lib.mkAfter [ "https://cache.nixos.org/" ];
          nix.settings.trusted-public-keys = [ "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=" ];
        }
        # harmonia.nix: keys through LoadCredential, SIGN_KEY_PATHS. Settings defaults only in the
        # nested module: `services.harmonia.cache.settings = builtins.mapAttrs (_: v: lib.mkDefault v)
        # { bind = "[::]:5000"; … }` under `lib.mkIf cacheCfg.enable`. The flat one declares
        # `settings = lib.mkOption { inherit (format) type; default = { }; … }` and sets none (an
        # unset bind is Harmonia's own default).
        (lib.optionalAttrs (harmonia == "cache") {
          services.harmonia.cache.settings = lib.mkIf h.enable (mapAttrs (_: lib.mkDefault) { bind = "[::]:5000"; workers = 4; max_connection_rate = 256; priority = 50; });
        })
        (lib.mkIf h.enable {
          nix.settings.extra-allowed-users = [ "harmonia" ];
          systemd.services.harmonia = {
            description = "harmonia binary cache service";
            wantedBy = [ "multi-user.target" ];
            # The single-key module: `SIGN_KEY_PATH = lib.mkIf (cfg.signKeyPath != null) "%d/sign-key";`.
            environment =
              if harmonia == "single-key" then lib.optionalAttrs (credentials != [ ]) { SIGN_KEY_PATH = "%d/sign-key"; }
              else { SIGN_KEY_PATHS = builtins.concatStringsSep " " (map (c: "%d/${c.id}") credentials); };
            serviceConfig = {
              LoadCredential = map (c: "${c.id}:${c.path}") credentials;
              DynamicUser = true;
              User = "harmonia";
            };
          };
        })
        # postgresql.nix (25.11 on): the target that means "server up and ensure* applied".
        (lib.mkIf (config.services.postgresql.enable && postgresql == "setup") {
          systemd.targets.postgresql = { wantedBy = [ "multi-user.target" ]; requires = [ "postgresql.service" "postgresql-setup.service" ]; };
        })
        # postgresql.nix: a role may own (ensureDBOwnership) only the database of its own name.
        {
          assertions = [{
            assertion = builtins.all (u: (u.ensureDBOwnership or false) -> builtins.elem u.name config.services.postgresql.ensureDatabases) config.services.postgresql.ensureUsers;
            message = "For each database user defined with `ensureDBOwnership = true;`, a database with the same name must be defined in `ensureDatabases`.";
          }];
        }
        # caddy/default.nix
        (lib.mkIf caddy.enable {
          services.caddy.globalConfig = ''
            ${lib.optionalString (caddy.email != null) "email ${caddy.email}"}
            ${lib.optionalString (caddy.acmeCA != null) "acme_ca ${caddy.acmeCA}"}
            log {
              ${caddy.logFormat}
            }
          '';
          systemd.services.caddy = {
            wantedBy = [ "multi-user.target" ];
            reloadTriggers = lib.optional caddy.enableReload caddy.configFile;
            serviceConfig = {
              User = caddy.user;
              Group = caddy.group;
              EnvironmentFile = lib.optional (caddy.environmentFile != null) caddy.environmentFile;
              NoNewPrivileges = true;
            };
          };
          networking.firewall = lib.mkIf caddy.openFirewall {
            allowedTCPPorts = builtins.filter (p: p != null) [ caddy.httpPort caddy.httpsPort ];
            allowedUDPPorts = lib.optional (caddy.httpsPort != null) caddy.httpsPort;
          };
        })
      ];
  };


  # The Caddyfile caddy/default.nix writes (before `caddy fmt`), from the evaluated options.
  caddyfileOf = cfg:
    let
      mkVHostConf = hostOpts: ''
        ${hostOpts.hostName} ${lib.concatStringsSep " " hostOpts.serverAliases} {
          ${lib.optionalString (hostOpts.listenAddresses != [ ]) "bind ${lib.concatStringsSep " " hostOpts.listenAddresses}"}
          ${lib.optionalString (hostOpts.useACMEHost != null) "tls /var/lib/acme/${hostOpts.useACMEHost}/cert.pem /var/lib/acme/${hostOpts.useACMEHost}/key.pem"}
          ${lib.optionalString (hostOpts.logFormat != null) ''
            log {
              ${hostOpts.logFormat}
            }
          ''}

          ${hostOpts.extraConfig}
        }
      '';
    in
    ''
      {
        ${cfg.globalConfig}
      }
      ${cfg.extraConfig}
      ${lib.concatMapStringsSep "\n" mkVHostConf (builtins.attrValues cfg.virtualHosts)}
    '';

  result = lib.evalModules {
    modules = [ nixpkgsStandIn ] ++ map (p: /. + p) (builtins.fromJSON modulesJson) ++ [
      { config = decodePaths (builtins.fromJSON configJson); }
      # As NixOS passes them (nixos/lib/eval-config.nix, misc/nixpkgs.nix): through _module.args,
      # so that `imports` cannot depend on them, as in NixOS.
      { _module.args = { inherit pkgs utils; }; }
    ];
  };

  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) result.config.assertions);
  # caddy/default.nix: `configFile = if cfg.settings != { } then settingsFormat.generate "caddy.json"
  # cfg.settings else …` (the Caddyfile): settings replace everything else.
  caddyfile = if result.config.services.caddy.settings != { } then builtins.toJSON result.config.services.caddy.settings else caddyfileOf result.config.services.caddy;

  # For JSON output: a path literal shows as "<path-literal>/abs/file" (never copied to the store),
  # so a test can tell a runtime string from a path literal.
  show = v:
    if isPath v then marker + toString v
    else if isList v then map show v
    else if isAttrs v && v ? outPath then toString v
    else if isAttrs v then mapAttrs (_: show) v
    else v;
in
{
  inherit (result) config;
  inherit show;
  inherit failedAssertions;
  inherit (result.config) warnings;
  inherit caddyfile;
  # What building the system does first (nixos/modules/system/activation/top-level.nix): failed
  # assertions stop it with this text before any unit is rendered; else the units and the Caddyfile.
  toplevel =
    if failedAssertions != [ ] then throw "\nFailed assertions:\n${builtins.concatStringsSep "\n" (map (x: "- ${x}") failedAssertions)}"
    else { inherit (result.config) warnings; units = show result.config.systemd.services; inherit caddyfile; };
}
