# A minimal stand-in for nixpkgs' `lib` (no nixpkgs is available offline): only the functions the
# emitted modules and nix-module/nixca.nix use, each with the semantics of the real one, plus a
# small module evaluator (evalModules) that implements what those modules rely on:
#   - imports (deduplicated by file, like the real one), module functions called with
#     { config, lib, pkgs, utils, options },
#   - option declarations with types, defaults, and "option does not exist" for closed namespaces
#     (anywhere in the tree, on every read of the result's config, as nixpkgs' checkUnmatched),
#   - definitions merged by priority (mkOverride/mkDefault/mkForce), mkIf pushed down to the
#     leaves (so a condition may read config without infinite recursion), mkMerge, mkOrder
#     (mkBefore/mkAfter) for lists, lists concatenated, `lines` joined, scalars unique.
# It is a test double: where it differs from nixpkgs it is stricter (unknown options in a closed
# namespace fail, conflicting scalars fail), never more lenient.
let
  inherit (builtins) isAttrs isList isFunction isPath isString isInt isBool attrNames concatMap
    filter foldl' elem length genList elemAt head listToAttrs mapAttrs sort stringLength substring
    replaceStrings toJSON any all;

  id = x: x;
  escapeRegex = replaceStrings [ "\\" "[" "{" "(" ")" "^" "$" "." "|" "*" "+" "?" ] [ "\\\\" "\\[" "\\{" "\\(" "\\)" "\\^" "\\$" "\\." "\\|" "\\*" "\\+" "\\?" ];
  imap0 = f: l: genList (i: f i (elemAt l i)) (length l);
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  showPath = p: builtins.concatStringsSep "." p;

  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
  typeOf = v: if isAttrs v then v._type or null else null;
  isOption = v: typeOf v == "option";
  isLeafValue = v: !(isAttrs v) || v ? _type || (v.type or null) == "derivation" || v ? outPath;

  mkType = name: check: extra: { _type = "type"; inherit name check; } // extra;

  # mergeEqualOption (lib/options.nix): every definition must have the same value.
  mergeEqual = path: values:
    if all (v: v == head values) values then head values
    else throw "The option `${showPath path}' has conflicting definition values: ${toJSON (map (v: if isPath v then toString v else v) values)}";

  types = rec {
    str = mkType "string" isString { };
    # separatedString "\n" (lib/types.nix): definitions joined with newlines.
    lines = mkType "strings concatenated with \"\\n\"" isString { merge = _: vs: builtins.concatStringsSep "\n" vs; };
    bool = mkType "boolean" isBool { };
    int = mkType "signed integer" isInt { };
    port = mkType "16 bit unsigned integer; between 0 and 65535 (both inclusive)" (x: isInt x && x >= 0 && x <= 65535) { };
    # nixpkgs: a path literal, or a string that starts with "/" (it does not copy anything).
    path = mkType "path" (x: isPath x || (isString x && substring 0 1 x == "/")) { };
    package = mkType "package" (x: isAttrs x && (x.type or null) == "derivation") { };
    anything = mkType "anything" (_: true) { freeform = true; };
    unspecified = mkType "unspecified value" (_: true) { };
    listOf = t: mkType "list of ${t.name}" (x: isList x && all t.check x) { list = true; };
    attrsOf = t: mkType "attribute set of ${t.name}" (x: isAttrs x && all (n: t.check x.${n}) (attrNames x)) { freeform = true; };
    # nullOr (lib/types.nix): all null -> null; null and non-null -> error; else the inner merge.
    nullOr = t: mkType "null or ${t.name}" (x: x == null || t.check x) {
      freeform = t.freeform or false;
      merge = path: vs:
        let nulls = filter (v: v == null) vs; in
        if length nulls == length vs then null
        else if nulls != [ ] then throw "The option `${showPath path}' is defined both null and not null."
        else if (t.merge or null) != null then t.merge path vs
        else if t.list or false then concatMap id vs
        else mergeEqual path vs;
    };
    either = a: b: mkType "${a.name} or ${b.name}" (x: a.check x || b.check x) { };
    oneOf = ts: mkType (builtins.concatStringsSep " or " (map (t: t.name) ts)) (x: any (t: t.check x) ts) { };
    enum = vs: mkType "one of ${builtins.concatStringsSep ", " (map toJSON vs)}" (x: elem x vs) { };
  };

  # ---- definitions ----------------------------------------------------------------------

  # Turns one definition into [ { prio, value } ], evaluating mkIf conditions (leaf level only).
  normalize = prio: d:
    let t = typeOf d; in
    if t == "merge" then concatMap (normalize prio) d.contents
    else if t == "if" then (if d.condition then normalize prio d.content else [ ])
    else if t == "override" then normalize d.priority d.content
    else [ { inherit prio; value = d; } ];

  # Above the leaves: mkIf/mkOverride are pushed into every attribute WITHOUT evaluating the
  # condition (the real pushDownProperties), so the attribute names never depend on config.
  pushDown = d:
    let t = typeOf d; in
    if t == "merge" then concatMap pushDown d.contents
    else if t == "if" then map (mapAttrs (_: v: { _type = "if"; inherit (d) condition; content = v; })) (pushDown d.content)
    else if t == "override" then map (mapAttrs (_: v: mkOverride d.priority v)) (pushDown d.content)
    else [ d ];

  # The value under all wrappers, without evaluating conditions: is this an attribute set to recurse into?
  peel = d:
    let t = typeOf d; in
    if t == "if" || t == "override" || t == "order" then peel d.content
    else if t == "merge" then (if d.contents == [ ] then { } else peel (head d.contents))
    else d;

  mergeLeaf = path: type: default: defs:
    let
      norm = concatMap (normalize 100) defs;
      best = foldl' (m: x: if x.prio < m then x.prio else m) 100000 norm;
      chosen = map (x: x.value) (filter (x: x.prio == best) norm);
      orderOf = v: if typeOf v == "order" then v.priority else 1000;
      unorder = v: if typeOf v == "order" then v.content else v;
      values = map unorder (sort (a: b: orderOf a < orderOf b) chosen);
      isListType = if type == null then all isList values else type.list or false;
      merged =
        if type != null && (type.merge or null) != null then type.merge path values
        else if isListType then concatMap id values
        else if type != null && (type.freeform or false) then mergeTree path { } (map (v: v) values)
        else mergeEqual path values;
      checked =
        if type == null || type.check merged then merged
        else throw "The option `${showPath path}' is not of type `${type.name}'.";
    in
    if chosen == [ ] then default else checked;

  # Merges the definitions `defs` at `path` against the declarations `decl` (an option, a tree of
  # options, or null for undeclared/freeform).
  mergeAt = path: decl: defs:
    if isOption decl then
      mergeLeaf path decl.type (if decl ? default then decl.default else throw "The option `${showPath path}' is used but not defined.") defs
    else if decl == null && defs != [ ] && any (d: isLeafValue (peel d)) defs then
      mergeLeaf path null (throw "harness: `${showPath path}' has no enabled definition and is not declared") defs
    else mergeTree path (if decl == null then { } else decl) defs;

  markers = [ "_closed" "_open" "_attrsOf" "_attrsOfSub" "_attrsOfType" ];

  mergeTree = path: decl: defs:
    let
      flat = concatMap pushDown defs;
      defined = unique (concatMap attrNames flat);
      declared = filter (n: !(elem n markers)) (attrNames decl);
      unknown = filter (n: !(elem n declared)) defined;
      defsOf = n: concatMap (d: if d ? ${n} then [ d.${n} ] else [ ]) flat;
      # Like nixpkgs' attrsOf (systemd.services, users.users, …): an entry whose every definition
      # is disabled by mkIf does not exist. Only at attrsOf levels, exactly where nixpkgs
      # filters; elsewhere names never depend on conditions (no infinite recursion).
      attrsOfLevel = decl._attrsOf or false || decl ? _attrsOfSub || decl ? _attrsOfType;
      names =
        if attrsOfLevel then filter (n: any enabled (defsOf n)) defined
        else unique (declared ++ defined);
      # attrsOf (submodule …): each entry is merged against the submodule's (closed) options,
      # which may read the entry's own merged value (`config.hostName`) and its `name`.
      sub = n: let self = mergeTree (path ++ [ n ]) (decl._attrsOfSub n self) (defsOf n); in self;
      child = n:
        if decl ? _attrsOfSub then sub n
        else if decl ? _attrsOfType then mergeLeaf (path ++ [ n ]) decl._attrsOfType null (defsOf n)
        else mergeAt (path ++ [ n ]) (decl.${n} or null) (defsOf n);
    # Every declared namespace is closed, as in NixOS; only freeform ones (_open, or nothing
    # declared at all: values under attrsOf/anything) take names nobody declared.
    closed = decl._closed or (declared != [ ] && !(decl._open or false));
    in
    if closed && unknown != [ ] then throw "The option `${showPath (path ++ [ (head unknown) ])}' does not exist."
    else listToAttrs (map (n: { name = n; value = child n; }) names);

  # True when a definition contributes anything (its conditions hold somewhere).
  enabled = d:
    let t = typeOf d; in
    if t == "if" then d.condition && enabled d.content
    else if t == "merge" then any enabled d.contents
    else if t == "override" || t == "order" then enabled d.content
    else true;

  # lib/modules.nix checkUnmatched: the paths of definitions nobody declared, over the whole tree of
  # declared namespaces (not into attrsOf entries: a submodule checks its own when it is merged).
  unmatched = path: decl: defs:
    let
      flat = concatMap pushDown defs;
      defined = unique (concatMap attrNames flat);
      declared = filter (n: !(elem n markers)) (attrNames decl);
      closed = decl._closed or (declared != [ ] && !(decl._open or false));
      isTree = d: isAttrs d && !(isOption d) && !(d ? _attrsOf || d ? _attrsOfSub || d ? _attrsOfType);
      defsOf = n: concatMap (d: if d ? ${n} then [ d.${n} ] else [ ]) flat;
    in
    (if closed then map (n: path ++ [ n ]) (filter (n: !(elem n declared)) defined) else [ ])
    ++ concatMap (n: unmatched (path ++ [ n ]) decl.${n} (defsOf n)) (filter (n: elem n defined && isTree decl.${n}) declared);

  recursiveUpdateDecls = a: b:
    a // mapAttrs (n: v: if a ? ${n} && isAttrs v && !(isOption v) && isAttrs a.${n} && !(isOption a.${n}) then recursiveUpdateDecls a.${n} v else v) b;

  evalModules = { modules, args ? { } }:
    let
      toItem = parent: i: m:
        let
          isFile = isPath m || isString m;
          fn = if isFile then import m else m;
          value = if isFunction fn then fn moduleArgs else fn;
        in { key = if isFile then toString m else "${parent}#${toString i}"; inherit value; };
      items = builtins.genericClosure {
        startSet = imap0 (toItem "top") modules;
        operator = item: imap0 (toItem item.key) (item.value.imports or [ ]);
      };
      split = v:
        if v ? config || v ? options then { options = v.options or { }; config = v.config or { }; }
        else { options = { }; config = removeAttrs v [ "imports" "_file" "key" "meta" "disabledModules" ]; };
      parts = map (item: split item.value) items;
      options = foldl' recursiveUpdateDecls { } (map (p: p.options) parts);
      config = mergeTree [ ] options (map (p: p.config) parts);
      moduleArgs = args // { inherit config options lib; };
      # As evalModules returns `config = checked (…)`: one undeclared definition anywhere fails
      # every read of the result's config (assertions included), while modules see it unchecked.
      unknown = unmatched [ ] options (map (p: p.config) parts);
      check = if unknown == [ ] then null else throw "The option `${showPath (head unknown)}' does not exist.";
    in { config = builtins.seq check config; inherit options; files = map (i: i.key) items; };

  lib = {
    inherit types evalModules mkOverride mkOrder;
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkDefault = mkOverride 1000;
    mkOptionDefault = mkOverride 1500;
    mkForce = mkOverride 50;
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = name: lib.mkOption { type = types.bool; default = false; description = "Whether to enable ${name}."; };
    optional = c: x: if c then [ x ] else [ ];
    optionals = c: xs: if c then xs else [ ];
    optionalAttrs = c: a: if c then a else { };
    optionalString = c: s: if c then s else "";
    concatLists = builtins.concatLists;
    concatMap = builtins.concatMap;
    concatStringsSep = builtins.concatStringsSep;
    mapAttrsToList = f: a: map (n: f n a.${n}) (attrNames a);
    # lib.attrsets.filterAttrs, as nixpkgs defines it.
    filterAttrs = pred: set: builtins.listToAttrs (builtins.concatMap (name: let v = set.${name}; in if pred name v then [ { inherit name; value = v; } ] else [ ]) (attrNames set));
    any = builtins.any;
    all = builtins.all;
    hasPrefix = pref: s: substring 0 (stringLength pref) s == pref;
    removePrefix = pref: s:
      let n = stringLength pref; in
      if substring 0 n s == pref then substring n (stringLength s - n) s else s;
    inherit (builtins) filter genList listToAttrs elem length head;
    nameValuePair = name: value: { inherit name value; };
    genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
    imap0 = imap0;
    # lib/strings.nix: split on a literal separator.
    splitString = sep: s: filter isString (builtins.split (escapeRegex sep) s);
    hasInfix = infix: content: builtins.length (builtins.split (escapeRegex infix) content) > 1;
    hasSuffix = suf: s: let n = stringLength s; m = stringLength suf; in n >= m && substring (n - m) m s == suf;
    # lib/strings.nix escapeShellArg: plain words stay, anything else is single-quoted.
    escapeShellArg = arg:
      let s = toString arg; in
      if builtins.match "[[:alnum:],._+:@%/-]+" s == null then "'${replaceStrings [ "'" ] [ "'\\''" ] s}'" else s;
    escapeShellArgs = args: builtins.concatStringsSep " " (map lib.escapeShellArg args);
    concatMapStringsSep = sep: f: l: builtins.concatStringsSep sep (map f l);
    attrValues = builtins.attrValues;
    mapAttrs = builtins.mapAttrs;
    mkOptionType = { name, check ? (_: true), merge ? null, ... }: mkType name check { inherit merge; };
    toInt = s:
      let m = builtins.match "[0-9]+" s; in
      if m == null then throw "toInt: ${s} is not a decimal integer" else builtins.fromJSON s;
  };
in
lib
